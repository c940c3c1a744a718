"""Closure approvals on the one four-eyes model (approvals.FourEyesRequest): the decider's note keeps its text
under the common name, a requester may withdraw, and the common constraints replace the closure's own."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0003_worklist_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='approval',
            name='approver_is_not_requester',
        ),
        migrations.RemoveConstraint(
            model_name='approval',
            name='decided_approval_has_decider',
        ),
        migrations.RenameField(model_name='approval', old_name='decision_comment', new_name='decision_note'),
        migrations.RenameField(model_name='historicalapproval', old_name='decision_comment', new_name='decision_note'),
        migrations.AlterField(
            model_name='approval',
            name='decision_note',
            field=models.TextField(blank=True, default='', help_text='What the decider said; required to reject.'),
        ),
        migrations.AlterField(
            model_name='historicalapproval',
            name='decision_note',
            field=models.TextField(blank=True, default='', help_text='What the decider said; required to reject.'),
        ),
        migrations.AlterField(
            model_name='approval',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn by the requester'), ('superseded', 'Superseded')], default='pending', max_length=16),
        ),
        migrations.AlterField(
            model_name='historicalapproval',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn by the requester'), ('superseded', 'Superseded')], default='pending', max_length=16),
        ),
        migrations.AddConstraint(
            model_name='approval',
            constraint=models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), models.Q(('decided_by', models.F('requested_by')), _negated=True), _connector='OR'), name='cases_approval_decider_is_not_requester'),
        ),
        migrations.AddConstraint(
            model_name='approval',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('decided_at__isnull', True), ('decided_by__isnull', True), ('status', 'pending')), models.Q(('decided_at__isnull', False), ('decided_by__isnull', False), ('status__in', ['approved', 'rejected'])), models.Q(('decided_at__isnull', False), ('decided_by__isnull', True), ('status__in', ['withdrawn', 'superseded'])), _connector='OR'), name='cases_approval_decision_is_complete'),
        ),
    ]
