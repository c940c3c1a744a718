"""The `--organisation` option of management commands."""

from django.core.management.base import CommandError

from organisations.models import Organisation


def add_organisation_argument(parser, *, required: bool = False, every: bool = False) -> None:
    helps = "The organisation (its slug) to act in."
    if every:
        helps += " Every organisation when left out."
    elif not required:
        helps += " May be left out while only one organisation exists."
    parser.add_argument("--organisation", required=required, help=helps)


def organisation_from_option(slug: str | None) -> Organisation:
    """The organisation named by `--organisation`, or the only one there is."""
    if slug:
        try:
            return Organisation.objects.get(slug=slug)
        except Organisation.DoesNotExist:
            raise CommandError(f"No organisation {slug!r}.") from None
    organisations = list(Organisation.objects.order_by("pk")[:2])
    if len(organisations) != 1:
        raise CommandError("Name the organisation with --organisation <slug>.")
    return organisations[0]


def organisations_from_option(slug: str | None) -> list[Organisation]:
    """The organisation named by `--organisation`, or every one."""
    if slug:
        return [organisation_from_option(slug)]
    return list(Organisation.objects.order_by("pk"))
