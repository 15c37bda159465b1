from django.contrib import admin

from .models import ApiKey, Membership, User, Workspace

admin.site.register(User)
admin.site.register(Workspace)
admin.site.register(Membership)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "workspace", "role", "created_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
