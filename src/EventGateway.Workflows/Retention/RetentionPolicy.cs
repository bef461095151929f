using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Workflows.Retention;

/// <summary>
/// The decisions of podGC and ttlStrategy, as pure functions of a workflow's stored state (phases and finishedAt
/// times of its pods and itself): the reaper acts on them and the log API explains with them.
/// </summary>
public static class RetentionPolicy
{
    public const string OnPodCompletion = "OnPodCompletion";
    public const string OnPodSuccess = "OnPodSuccess";
    public const string OnWorkflowCompletion = "OnWorkflowCompletion";
    public const string OnWorkflowSuccess = "OnWorkflowSuccess";

    public static readonly string[] PodGCStrategies = [OnPodCompletion, OnPodSuccess, OnWorkflowCompletion, OnWorkflowSuccess];

    /// <summary>A workflow's effective podGC: strategy, which pods, and how long after the strategy's moment.</summary>
    public sealed record PodCollection(string Strategy, LabelMatcher Selector, TimeSpan Delay);

    private static WorkflowSpec SpecOf(Workflow wf) => wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec;

    /// <summary>The workflow's podGC, else the service default; null when pods are kept.</summary>
    public static PodCollection? PodGCOf(Workflow wf, RetentionOptions defaults)
    {
        var own = SpecOf(wf).PodGC ?? wf.Spec.PodGC;
        var strategy = own?.Strategy ?? defaults.PodGCStrategy;
        if (string.IsNullOrEmpty(strategy)) return null;
        // Validated at submission; a stored workflow that no longer parses keeps its pods rather than losing the wrong ones.
        try
        {
            var selector = own?.LabelSelector is { } s ? LabelMatcher.From(s) : LabelMatcher.Everything;
            var delay = own?.DeleteDelayDuration is { } d ? Durations.Parse(d, "podGC.deleteDelayDuration") : defaults.PodGCDeleteDelay;
            return new PodCollection(strategy, selector, delay);
        }
        catch (FormatException) { return null; }
    }

    /// <summary>When a pod's process directory (logs, sandbox) goes under the policy; null while it stays (maybe forever).</summary>
    public static DateTimeOffset? CollectAt(PodCollection gc, Workflow wf, NodeStatus pod)
    {
        if (pod.Type != NodeType.Pod || !pod.Fulfilled) return null;
        if (!gc.Selector.MatchesEverything && !gc.Selector.Matches(PodLabels(wf, pod))) return null;
        var phase = wf.Status?.Phase;
        // A pod that never ran (skipped) may have no finish time of its own: the workflow's stands in.
        DateTimeOffset? moment = gc.Strategy switch
        {
            OnPodCompletion => pod.FinishedAt ?? wf.Status?.FinishedAt,
            OnPodSuccess when pod.Phase == NodePhase.Succeeded => pod.FinishedAt ?? wf.Status?.FinishedAt,
            OnWorkflowCompletion when WorkflowPhase.IsCompleted(phase) => wf.Status!.FinishedAt,
            OnWorkflowSuccess when phase == WorkflowPhase.Succeeded => wf.Status!.FinishedAt,
            _ => null,
        };
        return moment + gc.Delay;
    }

    /// <summary>
    /// When the workflow is deleted, as Argo's TTL controller decides: secondsAfterFailure for Failed,
    /// secondsAfterSuccess for Succeeded, else secondsAfterCompletion (Error falls to the last); the service default
    /// applies when the workflow sets no ttlStrategy. Null while it is kept.
    /// </summary>
    public static DateTimeOffset? ExpiresAt(Workflow wf, RetentionOptions defaults)
    {
        if (wf.Status is not { IsCompleted: true, FinishedAt: { } finished } status) return null;
        var ttl = SpecOf(wf).TtlStrategy ?? wf.Spec.TtlStrategy;
        int? seconds = ttl is null ? (int?)defaults.WorkflowTtl?.TotalSeconds
            : status.Phase == WorkflowPhase.Failed && ttl.SecondsAfterFailure is { } f ? f
            : status.Phase == WorkflowPhase.Succeeded && ttl.SecondsAfterSuccess is { } s ? s
            : ttl.SecondsAfterCompletion;
        return seconds is { } secs ? finished + TimeSpan.FromSeconds(secs) : null;
    }

    /// <summary>The labels a pod would carry: the workflow's name, spec.podMetadata.labels and its template's metadata.labels.</summary>
    private static Dictionary<string, string> PodLabels(Workflow wf, NodeStatus pod)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["workflows.argoproj.io/workflow"] = wf.Name };
        var spec = SpecOf(wf);
        var template = pod.TemplateRef is { } r
            ? wf.Status?.StoredTemplates?.GetValueOrDefault(TemplateRefs.Key(r, wf.NamespaceOrDefault))
            : spec.Templates?.FirstOrDefault(t => t.Name == pod.TemplateName);
        foreach (var source in new[] { spec.PodMetadata, template?.Metadata })
            if (source?["labels"] is JsonObject o)
                foreach (var (k, v) in o)
                    if (v is JsonValue value && value.TryGetValue<string>(out var text)) labels[k] = text;
        return labels;
    }

    /// <summary>spec.podGC and spec.ttlStrategy, checked at submission.</summary>
    public static void Validate(WorkflowSpec spec, string at, Action<string, string> fail)
    {
        if (spec.PodGC is { } gc)
        {
            if (gc.Strategy is { } s && !PodGCStrategies.Contains(s))
                fail($"{at}.podGC.strategy", $"'{s}' is not one of {string.Join(", ", PodGCStrategies)}");
            if (gc.DeleteDelayDuration is { } d && !Durations.TryParse(d, out _))
                fail($"{at}.podGC.deleteDelayDuration", $"'{d}' is not a duration like 30s, 5m or 1h");
            if (gc.LabelSelector is { } selector)
            {
                try { LabelMatcher.From(selector); }
                catch (FormatException e) { fail($"{at}.podGC.labelSelector", e.Message); }
            }
        }
        if (spec.TtlStrategy is { } ttl)
            foreach (var (field, value) in new[] { ("secondsAfterCompletion", ttl.SecondsAfterCompletion), ("secondsAfterSuccess", ttl.SecondsAfterSuccess), ("secondsAfterFailure", ttl.SecondsAfterFailure) })
                if (value < 0) fail($"{at}.ttlStrategy.{field}", $"must not be negative, got {value}");
    }
}
