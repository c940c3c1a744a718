"""Promotion requests on the one four-eyes model (approvals.FourEyesRequest): a request its requester took back
(stored as rejected with no decider) is withdrawn, and the common constraints replace the promotion's own."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0012_decision_references_checked_per_statement'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: apps.get_model("scoring", "PromotionRequest")
            .objects.filter(status="rejected", decided_by__isnull=True)
            .update(status="withdrawn"),
            lambda apps, schema_editor: apps.get_model("scoring", "PromotionRequest")
            .objects.filter(status="withdrawn")
            .update(status="rejected"),
        ),
        migrations.RemoveConstraint(
            model_name='promotionrequest',
            name='promotion_approver_is_not_requester',
        ),
        migrations.AlterField(
            model_name='promotionrequest',
            name='decision_note',
            field=models.TextField(blank=True, default='', help_text='What the decider said; required to reject.'),
        ),
        migrations.AlterField(
            model_name='promotionrequest',
            name='reason',
            field=models.TextField(blank=True, default='', help_text='Why the requester asks.'),
        ),
        migrations.AlterField(
            model_name='promotionrequest',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn by the requester'), ('superseded', 'Superseded')], default='pending', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='promotionrequest',
            constraint=models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), models.Q(('decided_by', models.F('requested_by')), _negated=True), _connector='OR'), name='scoring_promotionrequest_decider_is_not_requester'),
        ),
        migrations.AddConstraint(
            model_name='promotionrequest',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decided_at__isnull', True), ('decided_by__isnull', True), ('status', 'pending')), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), ('status__in', ['approved', 'rejected'])), models.Q(('decided_at__isnull', False), ('decided_by__isnull', True), ('status__in', ['withdrawn', 'superseded'])), _connector='OR'), name='scoring_promotionrequest_decision_is_complete'),
        ),
    ]
