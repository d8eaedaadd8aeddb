"""User administration: search, invitations, role changes, deactivation and two-step sign-in
resets, with the seat check and history.

The seat limit never blocks: going over it needs an explicit confirmation from the admin
(SeatLimitConfirmationNeeded), then the change is saved. The last active admin can be neither
demoted nor deactivated, so the help desk always keeps someone who can administer it.
"""

import dataclasses
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, func, or_, select

from helpdesk import events, policy
from helpdesk.accounts import audit, password_reset, seats, two_factor
from helpdesk.accounts.auth import (
    ensure_user,
    find_user_by_email,
    normalise_email,
    register_customer,
    rotate_sessions,
)
from helpdesk.accounts.models import (
    AGENT_ROLES,
    AUDIT_ACTIVE,
    AUDIT_DETAILS,
    AUDIT_ORG_MEMBER,
    AUDIT_PERMISSION,
    AUDIT_ROLE,
    AUDIT_TWO_FACTOR,
    ROLE_ADMIN,
    ROLE_CUSTOMER,
    ROLES,
    AuditEvent,
    CategoryPermission,
    Organization,
    User,
)
from helpdesk.errors import DomainError, NotAllowed, ValidationFailed
from helpdesk.extensions import db
from helpdesk.querying import escape_like, lock_row

STATUS_FILTERS = ("active", "inactive", "all")


class SeatLimitConfirmationNeeded(DomainError):
    """The change takes the help desk over its agent seat limit: ask the admin to confirm first."""

    def __init__(self, used_after, limit):
        self.used_after = used_after
        self.limit = limit
        super().__init__(
            f"This makes {used_after} agents on a plan for {limit} seats. The help desk keeps "
            "working, but you will be over your plan until you upgrade or free a seat."
        )


def user_query(*, q="", role=None, status="all"):
    """A SELECT of users matching a name/e-mail search, a role and an active filter, by name."""
    query = select(User)
    if q:
        pattern = f"%{escape_like(q.lower())}%"
        query = query.where(
            or_(func.lower(User.name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    if role in ROLES:
        query = query.where(User.role == role)
    if status == "active":
        query = query.where(User.active.is_(True))
    elif status == "inactive":
        query = query.where(User.active.is_(False))
    return query.order_by(func.lower(User.name), User.id)


LOOKUP_LIMIT = 8


def customers_matching(q, limit=LOOKUP_LIMIT):
    """(name, e-mail, organization name or None) of the active customers whose name or e-mail
    contains `q` (at least two characters), by name: at most `limit` of them."""
    q = " ".join((q or "").split())
    if len(q) < 2:
        return []
    query = (
        user_query(q=q, role=ROLE_CUSTOMER, status="active")
        .with_only_columns(User.name, User.email, Organization.name)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .limit(limit)
    )
    return db.session.execute(query).all()


def _other_active_admins(user):
    """Active admins besides `user`. Every active admin row is locked (in id order) so two admins
    demoting each other at once are serialised: the second sees the first's change and is refused."""
    ids = db.session.scalars(
        select(User.id)
        .where(User.role == ROLE_ADMIN, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    return len([i for i in ids if i != user.id])


def _check_keeps_an_admin(user, *, new_role, new_active):
    removes_admin = user.role == ROLE_ADMIN and user.active and not (new_role == ROLE_ADMIN and new_active)
    if removes_admin and _other_active_admins(user) == 0:
        raise NotAllowed(
            f"{user.name} is the last active admin. Make someone else an admin first, "
            "so the help desk keeps an administrator."
        )


def _check_seats(user, *, new_role, confirmed):
    if confirmed or not seats.would_exceed_after_promotion(user, new_role):
        return
    usage = seats.seat_usage()
    raise SeatLimitConfirmationNeeded(usage.used + 1, usage.limit)


def active_admins():
    """Active admins, by id: they hear of every credit and billing alert."""
    return db.session.scalars(
        select(User).where(User.role == ROLE_ADMIN, User.active.is_(True)).order_by(User.id)
    ).all()


def create_user(email, name, password, role, *, actor=None, confirmed=False):
    """Create an account with a role (the first admin of a new desk, say) through the same rules
    as the admin pages: a customer is registered, then given `role` with its audit entry and the
    seat check (SeatLimitConfirmationNeeded over the limit unless `confirmed`). Without a
    password (None) the account is an invitee's, like one the console makes for a new customer:
    its owner sets a password through "Forgot your password?", which also confirms the address."""
    if role not in ROLES:
        raise PersonRefused("role", "Choose customer, technician or admin.")
    if password is None:
        user = _invitee(email, name)
    else:
        user = register_customer(email, name, password)
    change_role(actor, user, role, confirmed=confirmed)
    return user


class PersonRefused(ValidationFailed):
    """A rule refused a value given for a new person; `field` names it (name, email or role)."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def _invitee(email, name):
    if find_user_by_email(email):
        raise PersonRefused("email", "An account with this e-mail already exists.")
    if not (name or "").strip():
        raise PersonRefused("name", "Give the person's name.")
    return ensure_user(email, name.strip())


MAX_NAME, MAX_EMAIL = 200, 320


def _details_of(user):
    """The audit entries that are the versions of a user's name and e-mail address."""
    return (AuditEvent.target_user_id == user.id, AuditEvent.kind == AUDIT_DETAILS)


def details_version(user):
    """What the name-and-e-mail form carries: the id of the latest change of either (0: none)."""
    return audit.version(*_details_of(user))


def details_shown(user, changes):
    """(name, e-mail) as a form opened before `changes` (AuditEvents of kind details, oldest
    first) showed them: each change undone from the current values, newest first."""
    name, email = user.name, user.email
    for change in reversed(changes):
        if change.new_value == email:
            email = change.old_value
        elif change.new_value == name:
            name = change.old_value
    return name, email


def change_details(actor, user, *, name=None, email=None, new_password=False, seen=None):
    """An admin corrects a user's name or e-mail address (None: unchanged). Guarantees: a name
    that is not blank; an address no other account has (compared as sign-in compares them); each
    change in the user's history. A new address is treated as a password reset treats the account:
    every set-password or reset link sent before (to the old address) stops working, and every
    session and remember-me cookie of the account ends (the caller keeps an admin's own current
    session); an invitee who has not chosen a password yet gets the invitation again at the new
    address (at most RESET_MAILS_PER_HOUR an hour reach one address). With `new_password` (the
    old address was not theirs: whoever read the invitation there chose the password), the
    account's password and two-step sign-in are forgotten too, so it is an invitee again and the
    invitation goes to the new address: the person who chose that password can no longer sign in.
    Refused for an admin's own account and without a new address. Returns a DetailsChanged,
    false when nothing changed. `seen`: the details_version the form was opened at (AuditStale,
    nothing saved, when either changed since; None: not checked)."""
    lock_row(user)
    audit.check_seen(seen, *_details_of(user))
    changes = []
    if name is not None:
        name = " ".join(name.split())[:MAX_NAME]
        if not name:
            raise ValidationFailed("Give the person's name.")
        if name != user.name:
            changes.append((user.name, name))
            user.name = name
    new_address = False
    if email is not None:
        email = normalise_email(email)[:MAX_EMAIL]
        if email != user.email:
            other = find_user_by_email(email)
            if other is not None and other.id != user.id:
                raise ValidationFailed("Another account has this e-mail address.")
            changes.append((user.email, email))
            user.email = email
            new_address = True
    password_forgotten = False
    if new_password and user.password_hash is not None:
        if user.id == actor.id:
            raise ValidationFailed("Choose a new password of your own on your account's password page.")
        if not new_address:
            raise ValidationFailed(
                "A new password is asked for only with a corrected address: give the new address too."
            )
        user.password_hash = None
        password_forgotten = True
        if user.two_factor_enabled:
            two_factor.disable(user)
        changes.append(("their password", "a new one to choose at the new address"))
    for old, new in changes:
        audit.record(actor, AUDIT_DETAILS, user=user, old=old, new=new)
    db.session.flush()
    invitation = None
    if new_address:
        password_reset.forget_links(user)
        rotate_sessions(user)
        if _invited(user):
            invitation = bool(_send_invitation(actor, user))
    return DetailsChanged(
        changed=bool(changes),
        new_address=new_address,
        invitation_sent=invitation,
        password_forgotten=password_forgotten,
    )


@dataclass(frozen=True)
class DetailsChanged:
    """What change_details did: whether anything changed (its truth value), whether the address
    did (links and sessions ended), and for an invitee whether the invitation went out again to
    the new address (None: not an invitee; False: that address already got too many this hour),
    and whether the password chosen at the old address was forgotten."""

    changed: bool = False
    new_address: bool = False
    invitation_sent: bool | None = None
    password_forgotten: bool = False

    def __bool__(self):
        return self.changed


def _invited(user):
    """An active account its owner has not chosen a password for yet (an invitee)."""
    return user.active and user.password_hash is None


def _send_invitation(actor, user):
    """Queue the invitation mail (events.account_invited) with a new set-password link; the links
    sent before stop working only when it is actually queued. Returns the outbox rows (none when
    the address already got RESET_MAILS_PER_HOUR this hour)."""
    url = password_reset.next_set_password_url(user)
    sent = events.account_invited.send(user=user, actor=actor, url=url)
    rows = [row for result in sent for row in result or ()]
    if rows:
        password_reset.link_sent(user)
    return rows


def resend_invitation(actor, user):
    """Send an invitee (an active account without a password) the invitation again, with a new link
    (links expire after PASSWORD_RESET_MAX_AGE). Refused (ValidationFailed) for an account with a
    password or a deactivated one, and when its address already got RESET_MAILS_PER_HOUR
    invitations this hour. Returns the outbox rows."""
    if not user.active:
        raise ValidationFailed(f"{user.name} is deactivated: reactivate them first.")
    if user.password_hash is not None:
        raise ValidationFailed(
            f"{user.name} has already chosen a password: they can use “Forgot your password?” "
            "on the login page."
        )
    rows = _send_invitation(actor, user)
    if not rows:
        raise ValidationFailed(
            f"{user.email} already got several invitations in the last hour: try again later."
        )
    return rows


def change_role(actor, user, new_role, *, confirmed=False):
    """Give `user` another role. Guarantees: a known role; never leaves the help desk without an
    active admin; asks for confirmation before going over the seat limit; history recorded;
    a demoted technician loses their category permissions (a later promotion starts from none);
    a customer made an agent leaves their organization and stops following tickets as a
    subscriber (events.agent_access_granted: agents follow tickets through their categories);
    a user moved to a role that requires two factors (REQUIRE_2FA) without them set up is signed
    out everywhere, so their next sign-in leads to the set-up page; a demoted agent's running timers
    on tickets they may no longer work are stopped and charged."""
    if new_role not in ROLES:
        raise ValidationFailed("Choose customer, technician or admin.")
    if new_role == user.role:
        return False
    _check_keeps_an_admin(user, new_role=new_role, new_active=user.active)
    if user.active:
        _check_seats(user, new_role=new_role, confirmed=confirmed)
    old = user.role
    user.role = new_role
    audit.record(actor, AUDIT_ROLE, user=user, old=old, new=new_role)
    if new_role not in AGENT_ROLES:
        _drop_permissions(actor, user)
    elif user.organization_id is not None:  # only customers belong to organizations
        organization = user.organization
        user.organization, user.is_org_manager = None, False
        audit.record(actor, AUDIT_ORG_MEMBER, user=user, old=organization.name, new=None)
    unsubscribed = 0
    if new_role in AGENT_ROLES and old not in AGENT_ROLES:
        unsubscribed = sum(events.agent_access_granted.send(user=user, actor=actor) or [0])
    if policy.must_use_two_factor(user, current_app.config["REQUIRE_2FA"]) and not user.two_factor_enabled:
        rotate_sessions(user)
    db.session.flush()
    changed = _release(user, actor) if old in AGENT_ROLES else Changed()
    return dataclasses.replace(changed, unsubscribed=unsubscribed)


@dataclass(frozen=True)
class Changed:
    """A saved change (always true), how many open tickets assigned to the user it sent back to
    Unassigned because they may no longer work them, how many tickets they stopped following as a
    subscriber (a customer made an agent), and the running timers of theirs it stopped and charged
    (credits.time_entries.TimerEnding: each says what was done)."""

    released: int = 0
    unsubscribed: int = 0
    stopped_timers: tuple = ()
    tokens_revoked: int = 0  # API tokens a deactivation revoked (events.account_deactivated)

    def __bool__(self):
        return True


def _release(user, actor):
    """Announce that `user` may work fewer tickets (events.agent_access_reduced): the tickets
    domain unassigns the open ones they can no longer work, the credits domain stops and charges
    their timers on tickets they can no longer work. Returns what was done (Changed)."""
    results = events.agent_access_reduced.send(user=user, actor=actor)
    released = sum(r for r in results if isinstance(r, int))
    stopped = tuple(timer for r in results if isinstance(r, tuple) for timer in r)
    return Changed(released=released, stopped_timers=stopped)


def _drop_permissions(actor, user):
    for permission in list(user.category_permissions):
        audit.record(
            actor, AUDIT_PERMISSION, user=user, category=permission.category, old="granted", new="revoked"
        )
    db.session.execute(delete(CategoryPermission).where(CategoryPermission.user_id == user.id))
    db.session.expire(user, ["category_permissions", "granted_category_csv"])


def set_active(actor, user, active, *, confirmed=False):
    """Deactivate or reactivate `user`. Guarantees: a deactivated user's sessions and remember-me
    cookies stop working at once and they take no seat; the last active admin stays; reactivating
    an agent over the seat limit needs confirmation; history recorded; a deactivated agent's open
    tickets go back to Unassigned (their messages and history stay) and their running timers are
    stopped and charged (credits.time_entries.stop_lost_timers); their API tokens are revoked for
    good (events.account_deactivated: reactivating does not bring them back). An account whose
    personal data was erased (accounts.erasure) is never reactivated (ValidationFailed)."""
    if user.active == active:
        return False
    if active and user.erased:
        raise ValidationFailed(
            "This account's personal data was erased: it stays deactivated. If the person comes "
            "back, add them again as a new person."
        )
    if active:
        _check_seats(user, new_role=user.role, confirmed=confirmed)
    else:
        _check_keeps_an_admin(user, new_role=user.role, new_active=False)
    user.active = active
    changed = Changed()
    if not active:
        rotate_sessions(user)
        if user.is_agent:
            changed = _release(user, actor)
        revoked = sum(events.account_deactivated.send(user=user, actor=actor))
        changed = dataclasses.replace(changed, tokens_revoked=revoked)
    audit.record(
        actor,
        AUDIT_ACTIVE,
        user=user,
        old="inactive" if active else "active",
        new="active" if active else "inactive",
    )
    db.session.flush()
    return changed


def invite_user(actor, *, email, name, role, confirmed=False):
    """An admin adds a person (customer, technician or admin) without a password; the mail domain
    sends them a link where they choose one (events.account_invited). Guarantees: a name that is
    not blank, a well-formed address no other account has (compared as sign-in compares them) and
    a known role, else PersonRefused naming the field (create_user's checks; the address's shape is
    the form's); the role's history entry and the seat check of create_user
    (SeatLimitConfirmationNeeded over the limit unless `confirmed`); the account and its
    invitation exist together or not at all. Returns the user."""
    name = " ".join((name or "").split())[:MAX_NAME]
    user = create_user(normalise_email(email), name, None, role, actor=actor, confirmed=confirmed)
    url = password_reset.set_password_url(user)
    events.account_invited.send(user=user, actor=actor, url=url)
    return user


def reset_two_factor(actor, user):
    """An admin turns two-step sign-in off for someone locked out (a lost phone and lost recovery
    codes). Guarantees: the secret and every recovery code are forgotten, so they sign in with
    their password alone until they set it up again; every session and remember-me cookie of
    theirs ends at once (an admin's own too, when they do it to themself); history recorded.
    Refused (ValidationFailed) when it is not on. Returns True."""
    if not user.two_factor_enabled:
        raise ValidationFailed(f"Two-step sign-in is not on for {user.name}.")
    two_factor.disable(user)
    rotate_sessions(user)
    audit.record(actor, AUDIT_TWO_FACTOR, user=user, old="on", new="off")
    db.session.flush()
    return True
