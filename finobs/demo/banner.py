"""What `bin/run` prints last: where finobs is, who to sign in as and what each role can do, the API key, and
two commands to try it from a terminal."""

from finobs.demo import Demo
from finobs.demo.people import ORGANISATION_ROLES, ROLE_SUMMARY


def banner(demos: list[Demo], *, base_url: str) -> str:
    first, *others = demos
    key = first.api_key
    lines = [
        "",
        f"finobs is at {base_url}/  (sign in, then the worklist is at {base_url}/cases/)",
        f"{first.organisation.name}: sign in as",
    ]
    for role in ORGANISATION_ROLES:
        username = f"{first.prefix}{role}"
        lines.append(f"  {username:<12} {first.passwords[username]:<18} {ROLE_SUMMARY[role]}")
    lines.append("  (compliance and org_admin also enter a second-factor code: see their secrets above)")
    for other in others:
        lines.append(
            f"{other.organisation.name}: the same roles as {other.prefix}<role> (passwords above); it sees none "
            "of the first organisation's data, nor it of its."
        )
    lines += [
        f"API key ({first.organisation.name}, new every run): {key}",
        "Send a transaction:",
        f"  curl -s {base_url}/api/v1/transactions/ingest -H 'X-Webhook-Key: {key}' "
        '-H \'Content-Type: application/json\' -d "[{\\"external_id\\": \\"try-$(date +%s)\\", '
        '\\"account_id\\": \\"acc-try\\", \\"amount\\": \\"4999.00\\", \\"currency\\": \\"EUR\\", '
        '\\"timestamp\\": \\"$(date -u +%FT%TZ)\\", \\"merchant_category\\": \\"7995\\", \\"country\\": \\"NG\\", '
        '\\"channel\\": \\"online\\"}]"',
        "Follow the live feed of decisions (in another terminal):",
        f"  curl -N {base_url}/api/v1/stream/decisions -H 'X-Webhook-Key: {key}'",
        "DEBUG is on unless you set DEBUG=0: served to this machine only (its error pages show settings and URLs).",
    ]
    return "\n".join(lines)
