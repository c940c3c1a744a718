"""Per-account running aggregates: the behavioural history features read (scoring.profiles keeps them)."""

from django.db import models

from organisations.models import OrganisationOwned, organisation_field


class AccountProfile(OrganisationOwned):
    """Running aggregates of every stored transaction of an account: the behavioural features' memory.

    Kept up to date inside each ingest transaction (scoring.profiles.profiles_record), so scoring a batch
    reads one row per account instead of aggregating months of history.
    """

    organisation = organisation_field(hot=True)
    account_id = models.CharField(max_length=128)
    n = models.PositiveBigIntegerField(default=0)
    sum_log_amount = models.FloatField(default=0.0, help_text="Sum of log1p(|amount|).")
    sum_log_amount_sq = models.FloatField(default=0.0)
    sum_hour_sin = models.FloatField(default=0.0, help_text="Time of day on the unit circle, summed.")
    sum_hour_cos = models.FloatField(default=0.0)
    last_epoch_s = models.FloatField(default=0.0, help_text="Latest occurred_at seen, Unix seconds.")
    max_log_amount = models.FloatField(default=0.0, help_text="Largest log1p(|amount|) seen: the max-so-far.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "account_id"], name="account_profile_unique")]

    def __str__(self) -> str:
        return f"{self.account_id} ({self.n})"


class AccountValueCount(OrganisationOwned):
    """How many of an account's stored transactions went to a country, a merchant or a merchant category
    (with, per category, their summed log-amount in the reference currency), and how many of them in a
    category fell in each amount band (value "<category>:<band>", scoring.history.amount_band): the
    histogram the robust outlier features read their median and MAD from."""

    class Kind(models.TextChoices):
        COUNTRY = "c", "Country"
        MERCHANT = "m", "Merchant"
        CATEGORY = "k", "Merchant category"
        AMOUNT_BAND = "b", "Amount band in a merchant category"

    organisation = organisation_field(hot=True)
    account_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=1, choices=Kind.choices)
    value = models.CharField(max_length=128)
    n = models.PositiveBigIntegerField(default=0)
    sum_log_amount = models.FloatField(
        default=0.0, help_text="Categories: sum of log1p(|amount| in the reference currency)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "account_id", "kind", "value"], name="account_value_count_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.kind}:{self.value} ({self.n})"


class CounterpartySender(OrganisationOwned):
    """One account's payments to one counterparty (merchant or payee): when it first and last paid it.

    The counterparty features' memory beyond the raw rows of the last 24 hours: distinct senders in 7 days
    and first-time senders come from these rows, kept in the ingest transaction (scoring.profiles). A
    batch reads its counterparties' rows through the unique index's (organisation, merchant) prefix; no
    index covers the times, so their updates stay HOT (fillfactor 70, migration 0017).
    """

    organisation = organisation_field(hot=True)
    merchant_id = models.CharField(max_length=128)
    account_id = models.CharField(max_length=128)
    n = models.PositiveBigIntegerField(default=0)
    first_epoch_s = models.FloatField(help_text="First occurred_at, Unix seconds.")
    last_epoch_s = models.FloatField(help_text="Latest occurred_at, Unix seconds.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "merchant_id", "account_id"], name="counterparty_sender_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id} -> {self.merchant_id} ({self.n})"
