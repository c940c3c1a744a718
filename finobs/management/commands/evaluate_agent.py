"""Measure the investigation agent on cases opened from generated, labelled traffic: how often its recommended
outcome agrees with the truth (fraud or legitimate), by pattern, and the share of its proposals whose
evidence ids all resolve to evidence the tools returned."""

from collections import Counter, defaultdict

from django.core.management.base import BaseCommand, CommandError

from accounts.services import organisation_create
from cases.investigations.identity import agent_identity
from cases.investigations.policy import FRAUD_OUTCOMES, LEGIT_OUTCOMES
from cases.models import AgentAction, Case, Investigation
from cases.services.investigations import investigation_request, investigation_run
from ingestion.services import ingest
from organisations.context import organisation_context
from organisations.models import Organisation
from scoring.generator import generate

DEFAULT_SEED = 20_261_207  # not a training seed of the shipped model
BATCH = 5_000
AGREEMENT_TARGET = 0.85


class Command(BaseCommand):
    help = (
        "Generate labelled traffic into an evaluation organisation of its own, investigate the cases it opens "
        "with the configured provider, and print agreement with the truth by pattern and evidence resolution."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Seed of the generated traffic.")
        parser.add_argument("--accounts", type=int, default=400)
        parser.add_argument("--days", type=int, default=14)
        parser.add_argument("--cases", type=int, default=300, help="Investigate at most this many cases.")
        parser.add_argument(
            "--fresh", action="store_true", help="Investigate again cases an earlier run of this command investigated."
        )

    def handle(self, *args, seed, accounts, days, cases, fresh, **options):
        slug = f"agent-evaluation-{seed}-{accounts}-{days}"
        organisation = Organisation.objects.filter(slug=slug).first()
        generated = generate(n_accounts=accounts, days=days, seed=seed)
        pattern_of = {r["external_id"]: p for r, p in zip(generated.records, generated.patterns, strict=True)}
        if organisation is None:
            organisation = organisation_create(name=f"Agent evaluation {seed}/{accounts}/{days}", slug=slug,
                                               actor="system:evaluate_agent")  # fmt: skip
            for start in range(0, len(generated.records), BATCH):
                ingest(generated.records[start : start + BATCH], organisation=organisation, source="evaluation",
                       actor="system:evaluate_agent")  # fmt: skip
        with organisation_context(organisation):
            label = f"seed {seed}, {accounts} accounts, {days} days"
            self._evaluate(pattern_of, limit=cases, fresh=fresh, label=label)

    def _evaluate(self, pattern_of: dict, *, limit: int, fresh: bool, label: str) -> None:
        agent = agent_identity()
        chosen = list(Case.objects.order_by("pk")[:limit])
        if not chosen:
            raise CommandError("The generated traffic opened no case.")
        results = []
        for case in chosen:
            investigation = Investigation.objects.filter(case=case, status=Investigation.Status.DONE).first()
            if investigation is None or fresh:
                investigation = investigation_request(case=case, actor=agent, mode=Investigation.Mode.CONTINUOUS)
                investigation_run(investigation_id=investigation.pk)
                investigation.refresh_from_db()
            patterns = {pattern_of.get(e, "") for e in case.transactions.values_list("external_id", flat=True)}
            truth = next((p for p in sorted(patterns) if p), "legitimate")
            results.append((case, investigation, truth))
        self._report(results, label)

    def _report(self, results, label: str) -> None:
        by_pattern: dict[str, Counter] = defaultdict(Counter)
        failed = 0
        for _case, investigation, truth in results:
            if investigation.status != Investigation.Status.DONE:
                failed += 1
                by_pattern[truth]["failed"] += 1
                continue
            outcome = investigation.recommendation.get("outcome", "")
            is_fraud = truth != "legitimate"
            agrees = outcome in (FRAUD_OUTCOMES if is_fraud else LEGIT_OUTCOMES)
            by_pattern[truth]["cases"] += 1
            by_pattern[truth]["agree"] += agrees
            by_pattern[truth]["abstain"] += outcome == "request_information"
        self.stdout.write(f"Investigation agent on {len(results)} cases from generated traffic ({label}):")
        self.stdout.write(f"  {'pattern':18s} {'cases':>6s} {'agree':>6s} {'share':>7s} {'asked for info':>15s}")
        total_cases = total_agree = 0
        for pattern in sorted(by_pattern):
            c = by_pattern[pattern]
            total_cases += c["cases"]
            total_agree += c["agree"]
            share = c["agree"] / c["cases"] if c["cases"] else 0.0
            self.stdout.write(f"  {pattern:18s} {c['cases']:6d} {c['agree']:6d} {share:7.1%} {c['abstain']:15d}")
        overall = total_agree / total_cases if total_cases else 0.0
        self.stdout.write(
            f"  {'all':18s} {total_cases:6d} {total_agree:6d} {overall:7.1%}   (target ≥ {AGREEMENT_TARGET:.0%}; "
            f"{failed} failed)"
        )
        investigations = [i for _c, i, _t in results if i.status == Investigation.Status.DONE]
        known = {i.pk: {item["id"] for item in i.evidence} for i in investigations}
        proposals = list(AgentAction.objects.filter(investigation__in=investigations))
        resolving = sum(1 for p in proposals if set(p.evidence_ids) <= known[p.investigation_id])
        findings = [(i.pk, f) for i in investigations for f in i.findings]
        findings_resolving = sum(1 for pk, f in findings if set(f["evidence_ids"]) <= known[pk])
        dropped = sum(i.dropped_claims for i in investigations)
        self.stdout.write(
            f"  proposals whose evidence ids all resolve: {resolving}/{len(proposals)} "
            f"({resolving / len(proposals) if proposals else 1:.1%}, target 100%); findings: "
            f"{findings_resolving}/{len(findings)}; claims dropped by the server: {dropped}"
        )
