"""The roles and what each may do; the roles migration applies this, the README shows it.

Viewer, analyst, compliance and org_admin work inside one organisation (their membership's): a permission
is granted by the role and applies to that organisation's data only. Platform staff belong to no
organisation: they manage organisations and their people, and read an organisation's data only when
they enter it for support (as its viewers do, organisations.backends.SupportAccessBackend)."""

VIEWER = (
    "scoring.view_transaction",
    "scoring.view_decision",
    "scoring.view_modelversion",
    "scoring.view_live_decisions",
    # Rules, drift, experiments and promotion requests are visible to every role.
    "scoring.view_rule",
    "scoring.view_driftreport",
    "scoring.view_experiment",
    "scoring.view_promotionrequest",
    "cases.view_case",
    "cases.view_caseevent",
    "cases.view_team",
    "cases.view_comment",
    "cases.view_approval",
    "cases.view_attachment",  # and download it, from a case they may see
    "cases.view_closingchecklist",
    "cases.view_checklistitem",
    "cases.view_checklisttick",
    "cases.view_decisionreview",
    "cases.view_investigation",
    "cases.view_agentaction",
    "scoring.view_ruleactivation",
)
ANALYST = (
    *VIEWER,
    "scoring.view_explanation",
    "scoring.ingest_transactions",
    "cases.change_case",
    "cases.work_case",
    "cases.assign_case",
    "cases.escalate_case",
    "cases.propose_closure",
    "cases.add_comment",
    "cases.add_attachment",
    "cases.add_checklisttick",
    "cases.add_decisionreview",  # mark one decision a false positive or confirmed
    "cases.merge_case",
    "cases.bulk_change_case",
    "cases.review_suppressed",
    "cases.view_suppressedalert",
    # The agent investigates on request; its proposals wait for a person with decide_agent_action.
    "cases.request_investigation",
    "cases.decide_agent_action",
    "scoring.propose_rule",
    # Analysts upload CSV files and follow their own jobs.
    "ingestion.add_uploadjob",
    "ingestion.view_uploadjob",
)
COMPLIANCE = (
    *ANALYST,
    "cases.approve_closure",
    "cases.view_all_cases",
    "cases.file_sar",
    "delivery.view_delivery",  # compliance sees what was sent where
    "delivery.view_deliveryattempt",
    "cases.export_case",
    "cases.set_legal_hold",
    "cases.change_approval",  # decide closures in admin too
    "audit.view_auditevent",
    "audit.export_audit",
    "audit.verify_audit",
    "scoring.change_modelversion",
    "scoring.promote_model",
    "scoring.retrain_model",
    # Compliance edits rules (versioned, audited) and runs experiments.
    "scoring.manage_rules",
    "scoring.add_rule",
    "scoring.change_rule",
    "scoring.manage_experiments",
    "ingestion.view_all_uploads",  # every user's upload jobs
)
# An organisation's administrator: its people, teams, keys, sources, endpoints and settings.
ORG_ADMIN = (
    *COMPLIANCE,
    "apikeys.view_apikey",
    "apikeys.add_apikey",
    "apikeys.change_apikey",
    "apikeys.delete_apikey",
    "apikeys.manage_keys",
    "delivery.view_outboxevent",
    "organisations.view_organisation",  # its own, and its settings (accounts.admin)
    "organisations.change_organisation",
    "auth.view_user",  # its organisation's members only (accounts.admin)
    "auth.add_user",
    "auth.change_user",
    "auth.view_group",
    # Teams and routing rules
    "cases.add_team",
    "cases.change_team",
    "cases.view_routingrule",
    "cases.add_routingrule",
    "cases.change_routingrule",
    # Closing checklists per outcome and severity
    "cases.add_closingchecklist",
    "cases.change_closingchecklist",
    "cases.add_checklistitem",
    "cases.change_checklistitem",
    "cases.delete_checklistitem",
    "cases.view_suppressionrule",
    "cases.add_suppressionrule",
    "cases.change_suppressionrule",
    "cases.delete_routingrule",
    # Pull sources
    "ingestion.view_pullsource",
    "ingestion.add_pullsource",
    "ingestion.change_pullsource",
    "ingestion.delete_pullsource",
    "ingestion.view_pullrun",
    # Callback endpoints, deliveries and the dead-letter queue
    "delivery.view_callbackendpoint",
    "delivery.add_callbackendpoint",
    "delivery.change_callbackendpoint",
    "delivery.delete_callbackendpoint",
    "delivery.redeliver_delivery",
)

# Platform staff: organisations, their people and the deployment's schedules; no organisation's data.
PLATFORM = (
    "organisations.view_organisation",
    "organisations.add_organisation",
    "organisations.change_organisation",
    "organisations.view_membership",
    "organisations.add_membership",
    "organisations.change_membership",
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.view_group",
    "auth.change_group",
    "django_celery_beat.view_periodictask",
    "django_celery_beat.change_periodictask",
)

# The investigation agent's system identity (one per organisation, cases.investigations.identity): it reads
# every case of its organisation for continuous mode and asks for its proposals' decisions. It never decides.
AGENT = (*VIEWER, "cases.view_all_cases", "scoring.view_explanation", "cases.propose_agent_action")

ROLES: dict[str, tuple[str, ...]] = {
    "viewer": VIEWER,
    "analyst": ANALYST,
    "compliance": COMPLIANCE,
    "org_admin": ORG_ADMIN,
    "platform": PLATFORM,
    "agent": AGENT,
}
# Roles of system identities, never of a person who signs in.
SYSTEM_ROLES = frozenset({"agent"})
# Roles that may use Django admin (is_staff): org_admin runs an organisation, platform the deployment,
# compliance approves there.
STAFF_ROLES = frozenset({"compliance", "org_admin", "platform"})


def sync_roles(apps, *, strict: bool = True) -> None:
    """Create the groups and give each exactly its permissions (idempotent; `apps` may be historical).

    `strict=False` is for the roles migration: its historical state predates permissions that later
    migrations add, so it grants what exists and post_migrate (strict) completes the set.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    wanted = {name for names in ROLES.values() for name in names}
    found = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in permission_model.objects.select_related("content_type").filter(
            codename__in={name.split(".", 1)[1] for name in wanted}
        )
    }
    missing = wanted - found.keys()
    if missing and strict:
        raise RuntimeError(f"Roles name permissions that do not exist: {sorted(missing)}")
    for role, names in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        group.permissions.set([found[name] for name in names if name in found])
