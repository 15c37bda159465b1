"""ASGI entry point: Django for HTTP, Channels for the live websockets."""

import gc
import os

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django  # noqa: E402

django.setup(set_prefix=False)


class SyncChainASGIHandler(ASGIHandler):
    """Django's ASGI handler with the middleware chain and the view run as one sync call.

    Every view and middleware here is sync. The stock handler builds an async chain: each
    MiddlewareMixin middleware then runs process_request and process_response through
    sync_to_async, and the first sync-only one (RequestGuardMiddleware, WhiteNoise) hops back
    with async_to_sync, ~17 thread hops a request, ~5 ms CPU for an empty POST /events. Built
    as WSGI builds it, the chain is entered once in the request's thread-sensitive thread (so
    each request still gets a thread of its own, and its pooled connection, as before); body
    reading, the body limit and sending the response stay on the event loop."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)


django_asgi_app = SyncChainASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.routing import websocket_urlpatterns  # noqa: E402
from workspaces.middleware import BodyLimitASGIMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodyLimitASGIMiddleware(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# Everything loaded so far (Django, the apps, URLconf, serializers) lives as long as the process;
# freezing it keeps the collector's full passes, which a 1,000-event request's allocations set
# off, from walking those objects again on every request.
gc.freeze()
