"""Comments on a case, with @mentions that land in the mentioned person's inbox."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cases.models import Case, CaseEvent, Comment, Mention
from cases.services.lifecycle import lock_case, record_change, require_perm
from cases.services.live import notify_case_changed
from notifications.models import Kind as NotificationKind
from notifications.services import notification_send
from organisations.selectors import members

MAX_COMMENT_CHARS = 10_000
# Django usernames: letters, digits and @.+-_ ; a mention starts at a word boundary, not inside an email.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]+[\w])")


def mentioned_usernames(body: str) -> list[str]:
    return list(dict.fromkeys(MENTION.findall(body)))


def check_comment(case: Case, *, body: str, author) -> list:
    require_perm(author, "cases.work_case")
    text = body.strip()
    if not text:
        raise ValidationError({"body": "A comment cannot be empty."}, code="required")
    if len(text) > MAX_COMMENT_CHARS:
        raise ValidationError({"body": f"A comment has at most {MAX_COMMENT_CHARS} characters."}, code="max_length")
    names = mentioned_usernames(text)
    if not names:
        return []
    people = members(case.organisation_id).filter(username__in=names, is_active=True)
    users = {u.get_username(): u for u in people}
    unknown = [name for name in names if name not in users]
    cannot_see = [name for name, user in users.items() if not Case.objects.visible_to(user).filter(pk=case.pk).exists()]
    if unknown or cannot_see:
        details = {}
        if unknown:
            details["unknown"] = unknown
        if cannot_see:
            details["cannot_see_case"] = cannot_see
        raise ValidationError(
            {
                "body": f"Cannot mention {', '.join(unknown + cannot_see)}: unknown, or cannot see this case "
                "(share the case with them first)."
            },
            code="invalid_mention",
            params=details,
        )
    return [users[name] for name in names]


def case_comment(*, case: Case, body: str, author) -> Comment:
    mentioned = check_comment(case, body=body, author=author)
    with transaction.atomic():
        case = lock_case(case)
        now = timezone.now()
        comment = Comment.objects.create(case=case, author=author, body=body.strip(), created_at=now)
        Mention.objects.bulk_create([Mention(comment=comment, user=user, created_at=now) for user in mentioned])
        record_change(
            case,
            kind=CaseEvent.Kind.COMMENTED,
            actor=author,
            data={"comment_id": comment.pk, "mentions": [u.get_username() for u in mentioned]},
            action="case.commented",
        )
        if mentioned:
            notification_send(
                users=mentioned,
                kind=NotificationKind.MENTION,
                title=f"{author.get_username()} mentioned you on {case.reference}",
                body=comment.body[:500],
                url=f"/cases/{case.reference}/",
                actor=author,
            )
            notify_case_changed(
                case_id=case.pk,
                reference=case.reference,
                team_id=None,
                user_ids=[u.pk for u in mentioned],
                kind="mentioned",
            )
    return comment


def mentions_mark_read(*, user, case: Case) -> int:
    """The user has opened the case: their mentions on it are read."""
    return Mention.objects.filter(user=user, comment__case=case, read_at__isnull=True).update(read_at=timezone.now())
