"""GET|POST /topics and GET|PUT|DELETE /topics/{key}: the subjects customers subscribe to."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from workspaces.viewsets import WorkspaceViewSet

from .. import topics
from ..topics import Topic


class TopicSerializer(serializers.ModelSerializer):
    key = serializers.CharField(max_length=64, help_text=topics.TOPIC_KEY_HELP)
    default = serializers.ChoiceField(
        choices=Topic.Default.choices,
        default=topics.SUBSCRIBED,
        help_text="What a customer who never chose gets.",
    )

    class Meta:
        model = Topic
        fields = ["key", "name", "description", "default", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class TopicViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """Topics by key. Writes go through audiences.topics (the rules), reads are scoped here."""

    model = Topic
    serializer_class = TopicSerializer
    lookup_field = "key"
    lookup_value_converter = "str"

    def scope_queryset(self, queryset):
        return queryset.order_by("key")

    @extend_schema(request=TopicSerializer, responses={201: TopicSerializer})
    def create(self, request):
        topic = topics.topic_create(workspace=self.workspace, data=request.data)
        return Response(TopicSerializer(topic).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TopicSerializer, responses={200: TopicSerializer})
    def update(self, request, key=None):
        topic = topics.topic_update(workspace=self.workspace, topic=self.get_object(), data=request.data)
        return Response(TopicSerializer(topic).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, key=None):
        topics.topic_delete(workspace=self.workspace, topic=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
