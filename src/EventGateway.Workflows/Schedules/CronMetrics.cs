using EventGateway.Workflows.Controller;
using Prometheus;

namespace EventGateway.Workflows.Schedules;

/// <summary>
/// Argo's CronWorkflow metrics on the host's registry: <c>argo_workflows_cronworkflows_triggered_total{name,namespace}</c>
/// (a tick that ran; ticks suppressed by Forbid are not counted, as Argo), <c>cronworkflows_concurrencypolicy_triggered
/// {name,namespace,concurrency_policy}</c> (Forbid skipped a tick, Replace terminated running workflows) and the
/// <c>CronWorkflowSubmissionError</c> cause of <c>error_count</c>.
/// </summary>
public sealed class CronMetrics
{
    private readonly Counter _triggered, _policy, _errors;

    public CronMetrics(CollectorRegistry? registry = null)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.NewCustomRegistry());
        _triggered = f.CreateCounter("argo_workflows_cronworkflows_triggered_total", "Times a CronWorkflow has been triggered (Forbid's suppressed ticks not counted).",
            "name", "namespace");
        _policy = f.CreateCounter("argo_workflows_cronworkflows_concurrencypolicy_triggered",
            "Times a CronWorkflow's concurrencyPolicy limited the workflows running (Forbid: tick skipped; Replace: running ones terminated).",
            "name", "namespace", "concurrency_policy");
        // The same family as the controller's (same name, help and labels: the registry hands back the one counter).
        _errors = f.CreateCounter(ControllerMetrics.ErrorCount, ControllerMetrics.ErrorCountHelp, "cause");
        _errors.WithLabels(SubmissionError);
    }

    public const string SubmissionError = "CronWorkflowSubmissionError";

    internal void Triggered(string ns, string name) => _triggered.WithLabels(name, ns).Inc();

    internal void PolicyTriggered(string ns, string name, string policy) => _policy.WithLabels(name, ns, policy).Inc();

    internal void SubmissionFailed() => _errors.WithLabels(SubmissionError).Inc();
}
