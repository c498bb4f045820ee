"""Create or correct the role groups and their permissions (idempotent)."""

from django.core.management.base import BaseCommand

from placement.roles import roles_setup


class Command(BaseCommand):
    help = "创建或更正四个角色的用户组及其权限（可重复执行）"

    def handle(self, *args, **options):
        for role, count in roles_setup().items():
            self.stdout.write(f"{role}: {count} permissions")
