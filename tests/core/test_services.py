import datetime as dt

import pytest
from django.core import mail  # noqa: F401 - the outbox backend is what we check
from django.test import override_settings
from django.utils import timezone

from conciergerie.core import permissions, services
from conciergerie.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from conciergerie.core.models import AuditEntry, LoginAttempt, OutboxMessage, PlaceRole
from tests.factories import make_place, make_user

VALID_SIRET = "73282932000074"


@pytest.mark.django_db
class TestPlace:
    def test_create_records_audit_with_new_values(self):
        place = make_place(name="L'Établi", siret=VALID_SIRET, city="Chalon-sur-Saône")
        entry = AuditEntry.objects.get(place=place, action="place.create")
        assert entry.changes["name"] == [None, "L'Établi"]
        assert entry.changes["siret"] == [None, VALID_SIRET]

    def test_invalid_siret_refused_with_field_message(self):
        with pytest.raises(InvalidInput) as exc:
            make_place(siret="12345678901234")
        assert "SIRET" in exc.value.errors["siret"][0]

    def test_bad_opening_hours_refused(self):
        with pytest.raises(InvalidInput) as exc:
            make_place(opening_hours={"mon": [["18:00", "09:00"]]})
        assert "opening_hours" in exc.value.errors

    def test_update_audits_old_and_new(self, place, admin):
        services.place_update(place=place, by=admin, data={"city": "Niort"})
        entry = AuditEntry.objects.filter(action="place.update").get()
        assert entry.changes == {"city": ["", "Niort"]}
        assert entry.actor == admin

    def test_update_refuses_unknown_field_and_writes_nothing(self, place, admin):
        with pytest.raises(InvalidInput):
            services.place_update(place=place, by=admin, data={"city": "Niort", "pk": 9})
        place.refresh_from_db()
        assert place.city == ""

    def test_canonical_url_uses_base_url(self, place, settings):
        assert place.get_canonical_url() == f"{settings.BASE_URL}/lieux/fabrique/"


@pytest.mark.django_db
class TestAccounts:
    def test_duplicate_email_refused_case_insensitively(self, place):
        make_user(email="Alice@Example.org")
        with pytest.raises(Conflict) as exc:
            make_user(email="alice@example.ORG")
        assert exc.value.field == "email"

    def test_role_change_is_audited_and_cache_forgotten(self, place, admin):
        user = make_user(place=place, role="member")
        assert permissions.level(user, place) == permissions.Level.MEMBER
        services.role_set(place=place, user=user, role="concierge", by=admin)
        assert permissions.level(user, place) == permissions.Level.CONCIERGE
        entry = AuditEntry.objects.filter(action="role.set", target_uuid=user.uuid).first()
        assert entry.changes == {"role": ["member", "concierge"]}

    def test_role_removed(self, place, admin):
        user = make_user(place=place, role="member")
        services.role_set(place=place, user=user, role=None, by=admin)
        assert not PlaceRole.objects.filter(user=user).exists()


@pytest.mark.django_db
class TestInvitations:
    def test_invitation_sends_mail_and_accepting_creates_account(
        self, place, concierge, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            invitation = services.invitation_create(
                place=place, email="Nouvelle@Example.org", role="member", by=concierge
            )
        message = OutboxMessage.objects.get(place=place)
        assert message.to == "nouvelle@example.org"
        assert invitation.raw_token in message.body
        user = services.invitation_accept(
            token=invitation.raw_token, password="un-mot-de-passe-long", full_name="Nina Nouvelle"
        )
        assert permissions.level(user, place) == permissions.Level.MEMBER
        assert user.check_password("un-mot-de-passe-long")
        # Accepting also gives the member a directory entry linked to the account.
        assert user.people.get().place == place
        with pytest.raises(NotFound):
            services.invitation_accept(token=invitation.raw_token, password="x" * 12, full_name="")

    def test_expired_invitation_refused(self, place, concierge):
        invitation = services.invitation_create(
            place=place, email="tard@example.org", role="member", by=concierge
        )
        type(invitation).objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
        with pytest.raises(NotFound):
            services.invitation_lookup(token=invitation.raw_token)

    def test_concierge_cannot_invite_admin(self, place, concierge):
        with pytest.raises(PermissionDenied):
            services.invitation_create(
                place=place, email="x@example.org", role="admin", by=concierge
            )

    def test_cannot_invite_someone_already_in(self, place, concierge, member):
        with pytest.raises(Conflict):
            services.invitation_create(place=place, email=member.email, role="member", by=concierge)


@pytest.mark.django_db
class TestTokens:
    def test_token_authenticates_and_only_hash_is_stored(self, member):
        raw = services.token_create(user=member)
        assert services.token_authenticate(raw=raw) == member
        assert not type(member).objects.filter(api_tokens__key_hash=raw).exists()
        assert services.token_authenticate(raw=raw + "x") is None

    def test_inactive_user_token_refused(self, member):
        raw = services.token_create(user=member)
        member.is_active = False
        member.save()
        assert services.token_authenticate(raw=raw) is None


@pytest.mark.django_db
class TestLoginLimit:
    @override_settings(LOGIN_MAX_FAILURES=3)
    def test_blocks_after_failures_per_email(self):
        for _ in range(3):
            assert services.login_allowed(email="a@example.org", ip="10.0.0.1")
            services.login_failure_record(email="a@example.org", ip="10.0.0.1")
        assert not services.login_allowed(email="A@example.org", ip="10.0.0.2")
        assert services.login_allowed(email="b@example.org", ip="10.0.0.1")

    @override_settings(LOGIN_MAX_FAILURES=3, LOGIN_FAILURE_WINDOW_SECONDS=60)
    def test_old_failures_do_not_count(self):
        for _ in range(3):
            services.login_failure_record(email="a@example.org", ip=None)
        LoginAttempt.objects.update(created_at=timezone.now() - dt.timedelta(minutes=2))
        assert services.login_allowed(email="a@example.org", ip=None)
