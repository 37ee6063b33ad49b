"""Give a staff member an authenticator app (TOTP) for two-factor sign-in to the admin."""

import io

import qrcode
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Create a TOTP device for a staff user and print the link and QR code to scan into an authenticator app."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="Authenticator app", help="A label for the device.")
        parser.add_argument("--replace", action="store_true", help="Remove the user's existing TOTP devices first.")

    def handle(self, *args, username, name, replace, **options):
        user = get_user_model().objects.filter(username=username, is_staff=True).first()
        if user is None:
            raise CommandError(f"No staff user called {username!r}.")
        if replace:
            TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
        code = qrcode.QRCode(border=1)
        code.add_data(device.config_url)
        picture = io.StringIO()
        code.print_ascii(out=picture)
        self.stdout.write(picture.getvalue())
        self.stdout.write(f"Scan the code above, or add this link to the authenticator app:\n{device.config_url}")
        self.stdout.write(self.style.SUCCESS(f"{username} now signs in to the admin with a code from that app."))
