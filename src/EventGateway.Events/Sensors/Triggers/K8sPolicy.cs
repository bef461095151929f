using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Workflows.Store;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// <c>policy.k8s</c>: after creating (or changing) an object, poll it with the policy's backoff until its labels match
/// (e.g. <c>workflows.argoproj.io/phase: Succeeded</c>). Argo's controller keeps the phase and completed
/// labels on workflows; the embedded store keeps them in status, so they are read from there too. When the
/// backoff runs out, <c>errorOnBackoffTimeout</c> decides between a failed trigger and a success as is.
/// </summary>
public static class K8sPolicy
{
    public const string PhaseLabel = "workflows.argoproj.io/phase";
    public const string CompletedLabel = "workflows.argoproj.io/completed";

    public static async Task WaitAsync(TriggerFiring firing, TriggerResult created, TriggerContext context, CancellationToken ct)
    {
        if (firing.Trigger.Policy?["k8s"] is not JsonObject policy || created.CreatedName is null) return;
        var wanted = policy["labels"]?.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.ToString() ?? "") ?? [];
        if (wanted.Count == 0) return;
        TriggerRetry.Backoff backoff;
        try
        {
            backoff = TriggerRetry.Parse(policy["backoff"] as JsonObject);
        }
        catch (FormatException e)
        {
            throw new TriggerException($"policy.k8s.backoff.{e.Message}", retryable: false);
        }

        Dictionary<string, string> seen = [];
        for (var attempt = 0; attempt < backoff.Steps; attempt++)
        {
            var obj = await StoreKind.All[created.CreatedKind ?? nameof(Workflow)].Get(context.Store, firing.Namespace, created.CreatedName, ct).ConfigureAwait(false);
            seen = obj is null ? [] : LabelsOf(obj);
            if (wanted.All(kv => seen.GetValueOrDefault(kv.Key) == kv.Value)) return;
            if (attempt + 1 < backoff.Steps)
                await Task.Delay(TriggerRetry.DelayBefore(backoff, attempt), context.Time, ct).ConfigureAwait(false);
        }
        if (policy["errorOnBackoffTimeout"]?.GetValue<bool>() == true)
            throw new TriggerException(
                $"policy.k8s: {created.CreatedKind ?? "Workflow"} {created.CreatedName} did not reach labels {Describe(wanted)} within {backoff.Steps} checks (has {Describe(seen.Where(kv => wanted.ContainsKey(kv.Key)))})",
                retryable: false);
    }

    public static Dictionary<string, string> LabelsOf(Resource obj)
    {
        var labels = new Dictionary<string, string>(obj.Metadata.Labels ?? [], StringComparer.Ordinal);
        if (obj is not Workflow wf) return labels;
        if (wf.Status?.Phase is { } phase) labels.TryAdd(PhaseLabel, phase);
        labels.TryAdd(CompletedLabel, wf.Status?.IsCompleted == true ? "true" : "false");
        return labels;
    }

    private static string Describe(IEnumerable<KeyValuePair<string, string>> labels) =>
        "{" + string.Join(", ", labels.Select(kv => $"{kv.Key}: {kv.Value}")) + "}";
}
