using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Controller;
using EventGateway.Workflows.Store;
using EventGateway.Workflows.Submission;

namespace EventGateway.Workflows.Controls;

/// <summary>
/// An operator's controls over a workflow, with Argo's semantics (<c>argo suspend|resume|stop|terminate|retry|resubmit</c>):
/// each changes the stored object only, and the controller acts on what it then reads. Every change is a
/// read-modify-write on the resourceVersion, retried when the controller (or anyone) wrote in between.
/// </summary>
public sealed class WorkflowControls(IResourceStore store, TimeProvider time)
{
    public const string ShutdownStop = "Stop";
    public const string ShutdownTerminate = "Terminate";

    /// <summary>Set on a resubmitted workflow: the name of the workflow it was made from (Argo's label).</summary>
    public const string ResubmittedFromLabel = "workflows.argoproj.io/resubmitted-from-workflow";

    /// <summary>
    /// Node ids whose step processes a retry discards before they run again (Argo's server deletes those pods
    /// itself; here the controller, which owns the executor, does it and removes the annotation).
    /// </summary>
    public const string PodsToDeleteAnnotation = "eventgateway.io/pods-to-delete";

    /// <summary>The reason given to stop or terminate, kept beside Argo's own status message.</summary>
    public const string ShutdownMessageAnnotation = "eventgateway.io/shutdown-message";

    private const int MaxAttempts = 10;

    /// <summary>Why a node selector on suspend is refused rather than silently suspending the whole workflow.</summary>
    public const string NoNodeSuspend =
        "suspend acts on whole workflows, as in Argo: a single step waits in a suspend template, and resume or stop with a node field selector acts on it";

    /// <summary>Sets spec.suspend: running steps finish, nothing new starts until resumed.</summary>
    public Task<Workflow> SuspendAsync(string ns, string name, CancellationToken ct = default) =>
        UpdateAsync(ns, name, wf =>
        {
            if (wf.Status?.IsCompleted == true) throw new WorkflowControlException("cannot suspend completed workflows");
            if (wf.Spec.Suspend == true) return false;
            wf.Spec.Suspend = true;
            return true;
        }, ct);

    /// <summary>
    /// Clears spec.suspend and lets every waiting suspend node succeed; with a node field selector, only the
    /// matching suspend nodes succeed (spec.suspend is left as it is), as Argo does.
    /// </summary>
    public async Task<Workflow> ResumeAsync(string ns, string name, string? nodeFieldSelector = null, CancellationToken ct = default)
    {
        var selector = NodeFieldSelector.ParseOrNull(nodeFieldSelector);
        return await UpdateAsync(ns, name, wf =>
        {
            if (selector is not null) return SetSuspendNodes(wf, selector, NodePhase.Succeeded, null);
            var changed = false;
            if (wf.Spec.Suspend == true)
            {
                wf.Spec.Suspend = null;
                changed = true;
            }
            foreach (var node in ActiveSuspendNodes(wf))
            {
                Finish(wf, node, NodePhase.Succeeded, null);
                changed = true;
            }
            return changed;
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets spec.shutdown to Stop: running steps are killed, nothing new starts, exit handlers still run.
    /// <paramref name="message"/> is kept in an annotation; Argo's status message stays "Stopped with strategy 'Stop'".
    /// </summary>
    public Task<Workflow> StopAsync(string ns, string name, string? message, CancellationToken ct = default) =>
        StopAsync(ns, name, message, null, ct);

    /// <summary>With a node field selector, fails only the matching waiting suspend nodes, with the message (Argo's stop of a node).</summary>
    public async Task<Workflow> StopAsync(string ns, string name, string? message, string? nodeFieldSelector, CancellationToken ct = default)
    {
        var selector = NodeFieldSelector.ParseOrNull(nodeFieldSelector);
        return selector is null
            ? await ShutdownAsync(ns, name, ShutdownStop, message, ct).ConfigureAwait(false)
            : await UpdateAsync(ns, name, wf => SetSuspendNodes(wf, selector, NodePhase.Failed, message), ct).ConfigureAwait(false);
    }

    /// <summary>Sets spec.shutdown to Terminate: running steps are killed, nothing new starts, exit handlers do not run.</summary>
    public Task<Workflow> TerminateAsync(string ns, string name, CancellationToken ct = default) =>
        ShutdownAsync(ns, name, ShutdownTerminate, null, ct);

    /// <summary>
    /// Moves a Failed or Error workflow back to Running: failed and errored steps (and, with
    /// <paramref name="restartSuccessful"/>, the nodes the selector matches) are removed so they run again,
    /// the nodes above them are reset to Running, succeeded steps are kept and not run again.
    /// </summary>
    public async Task<Workflow> RetryAsync(string ns, string name, bool restartSuccessful = false, string? nodeFieldSelector = null, CancellationToken ct = default)
    {
        var selector = NodeFieldSelector.ParseOrNull(nodeFieldSelector);
        return await UpdateAsync(ns, name, wf =>
        {
            WorkflowRetry.Apply(wf, restartSuccessful, selector, WorkflowOperator.Truncate(time.GetUtcNow()));
            return true;
        }, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates a new workflow with the same spec and arguments, labelled with the one it came from. It is named
    /// <paramref name="newName"/> when given (a repeated call with the same name answers the workflow it already
    /// created), otherwise generated from the original's generateName, or its name and "-". With
    /// <paramref name="memoized"/> (Failed/Error only) the steps that succeeded are carried over as Skipped, not run again.
    /// </summary>
    public async Task<Workflow> ResubmitAsync(string ns, string name, bool memoized = false, string? newName = null, CancellationToken ct = default)
    {
        var old = await GetAsync(ns, name, ct).ConfigureAwait(false);
        if (memoized && old.Status?.Phase is not (WorkflowPhase.Failed or WorkflowPhase.Error))
            throw new WorkflowControlException("workflow must be Failed/Error to resubmit in memoized mode");
        if (newName is { Length: > 0 } && await store.GetAsync<Workflow>(ns, newName, ct).ConfigureAwait(false) is { } existing
            && existing.Metadata.Labels?.GetValueOrDefault(ResubmittedFromLabel) == name)
            return existing;

        var wf = Resubmission.Formulate(old, memoized, newName);
        var prepared = await new WorkflowSubmitter(store).PrepareAsync(wf, null, $"resubmit of {ns}/{name}", ct).ConfigureAwait(false);
        if (memoized)
        {
            prepared.Status ??= new WorkflowStatus();
            prepared.Status.Nodes = Resubmission.MemoizedNodes(old, prepared.Name, WorkflowOperator.Truncate(time.GetUtcNow()));
        }
        return await store.CreateAsync(prepared, ct).ConfigureAwait(false);
    }

    /// <summary>Argo's notion of a suspended workflow: spec.suspend, or a suspend node waiting. Its phase stays Running.</summary>
    public static bool IsSuspended(Workflow wf) => wf.Spec.Suspend == true || ActiveSuspendNodes(wf).Any();

    private Task<Workflow> ShutdownAsync(string ns, string name, string strategy, string? message, CancellationToken ct) =>
        UpdateAsync(ns, name, wf =>
        {
            if (wf.Status?.IsCompleted == true)
                throw new WorkflowControlException($"cannot shutdown a completed workflow: workflow: \"{wf.Name}\", namespace: \"{wf.NamespaceOrDefault}\"");
            var annotations = wf.Metadata.Annotations ??= [];
            if (wf.Spec.Shutdown == strategy && (message is null || annotations.GetValueOrDefault(ShutdownMessageAnnotation) == message)) return false;
            wf.Spec.Shutdown = strategy;
            if (message is { Length: > 0 }) annotations[ShutdownMessageAnnotation] = message;
            return true;
        }, ct);

    /// <summary>Argo's updateSuspendedNode: the selected waiting suspend nodes end with the phase and message given.</summary>
    private bool SetSuspendNodes(Workflow wf, NodeFieldSelector selector, string phase, string? message)
    {
        var matched = ActiveSuspendNodes(wf).Where(selector.Matches).ToList();
        if (matched.Count == 0)
            throw new WorkflowControlException($"currently, set only targets suspend nodes: no suspend nodes matching nodeFieldSelector: {selector}");
        foreach (var node in matched) Finish(wf, node, phase, message);
        return true;
    }

    private static IEnumerable<NodeStatus> ActiveSuspendNodes(Workflow wf) =>
        wf.Status?.Nodes?.Values.Where(n => n.Type == NodeType.Suspend && !n.Fulfilled) ?? [];

    private void Finish(Workflow wf, NodeStatus node, string phase, string? message)
    {
        if (phase == NodePhase.Succeeded) node.Outputs = SuspendOutputs(wf, node);
        node.Phase = phase;
        if (message is { Length: > 0 }) node.Message = message;
        node.FinishedAt = WorkflowOperator.Truncate(time.GetUtcNow());
    }

    /// <summary>
    /// A resumed suspend node's outputs: parameters declared with valueFrom.supplied take their default (Argo's
    /// OverrideOutputParametersWithDefault); those with a globalName become workflow outputs.
    /// </summary>
    private static Outputs? SuspendOutputs(Workflow wf, NodeStatus node)
    {
        var spec = wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec;
        var tmpl = spec.Templates?.FirstOrDefault(t => t.Name == node.TemplateName)
            ?? wf.Status?.StoredTemplates?.Values.FirstOrDefault(t => t.Name == node.TemplateName);
        if (tmpl?.Outputs?.Parameters is not { Count: > 0 } declared) return node.Outputs;
        var outputs = node.Outputs ?? new Outputs();
        foreach (var p in declared)
        {
            if (outputs.Parameters?.Any(x => x.Name == p.Name && x.Value is not null) == true) continue;
            var value = p.ValueFrom?.Default ?? p.Value;
            if (value is null && p.ValueFrom?.Supplied is not null)
                throw new WorkflowControlException($"raw output parameter '{p.Name}' has not been set and does not have a default value");
            if (value is null) continue;
            (outputs.Parameters ??= []).RemoveAll(x => x.Name == p.Name);
            outputs.Parameters.Add(new Parameter { Name = p.Name, Value = value, GlobalName = p.GlobalName });
            if (p.GlobalName is { Length: > 0 } global)
            {
                wf.Status!.Outputs ??= new Outputs();
                (wf.Status.Outputs.Parameters ??= []).RemoveAll(x => x.Name == global);
                wf.Status.Outputs.Parameters.Add(new Parameter { Name = global, Value = value });
            }
        }
        return outputs;
    }

    private async Task<Workflow> GetAsync(string ns, string name, CancellationToken ct) =>
        await store.GetAsync<Workflow>(ns, name, ct).ConfigureAwait(false)
        ?? throw new NotFoundException($"workflows.argoproj.io \"{name}\" not found in namespace \"{ns}\"");

    /// <summary>Reads, changes and writes the workflow; on a conflict reads the newer version and applies the change again.</summary>
    /// <param name="change">returns false when there is nothing to write.</param>
    private async Task<Workflow> UpdateAsync(string ns, string name, Func<Workflow, bool> change, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var wf = await GetAsync(ns, name, ct).ConfigureAwait(false);
            if (!change(wf)) return wf;
            try
            {
                return await store.UpdateAsync(wf, ct).ConfigureAwait(false);
            }
            catch (ConflictException) when (attempt < MaxAttempts)
            {
                // Someone (usually the controller saving status) wrote in between: start again from theirs.
            }
        }
    }
}

/// <summary>A request the workflow's state refuses (Argo's "bad request"), worded as Argo words it.</summary>
public sealed class WorkflowControlException(string message) : InvalidOperationException(message);

/// <summary>
/// Argo's retry of a finished workflow (FormulateRetryWorkflow): remove the nodes to run again with everything
/// under them, reset the nodes above them to Running, drop the exit handler's nodes so it runs again.
/// </summary>
internal static class WorkflowRetry
{
    private const string CompletedLabel = "workflows.argoproj.io/completed";

    public static void Apply(Workflow wf, bool restartSuccessful, NodeFieldSelector? selector, DateTimeOffset now)
    {
        var status = wf.Status;
        switch (status?.Phase)
        {
            case WorkflowPhase.Failed or WorkflowPhase.Error:
                break;
            case WorkflowPhase.Succeeded when !restartSuccessful || selector is null:
                throw new WorkflowControlException("To retry a succeeded workflow, set the options restartSuccessful and nodeFieldSelector");
            case WorkflowPhase.Succeeded:
                break;
            default:
                throw new WorkflowControlException("workflow must be Failed/Error to retry");
        }

        var nodes = status.Nodes ??= [];
        var parentOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in nodes.Values.OrderBy(n => n.Id, StringComparer.Ordinal))
            foreach (var child in n.Children ?? [])
                parentOf.TryAdd(child, n.Id);
        var byName = nodes.Values.GroupBy(n => n.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var exitRoot = $"{wf.Name}.onExit";
        bool InExitHandler(NodeStatus n) => n.Name.StartsWith(exitRoot, StringComparison.Ordinal);

        IEnumerable<string> Ancestors(string id)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal) { id };
            while (parentOf.TryGetValue(id, out var parent) && seen.Add(parent)) yield return id = parent;
        }

        // A step run under a retryStrategy restarts with its whole Retry node, so the attempt count starts again.
        string RestartUnit(string id) => Ancestors(id).LastOrDefault(a => nodes[a].Type == NodeType.Retry) ?? id;

        var targets = nodes.Values
            .Where(n => !InExitHandler(n) && n.Type != NodeType.Container) // a containerSet runs again as a whole pod
            .Where(n => (NodePhase.IsFailedOrError(n.Phase) && (n.Children is not { Count: > 0 } || n.Type == NodeType.Pod))
                        || (restartSuccessful && selector is not null && selector.Matches(n)))
            .Select(n => RestartUnit(n.Id))
            .Distinct(StringComparer.Ordinal)
            .OrderBy(id => Ancestors(id).Count())
            .ToList();

        var delete = new HashSet<string>(StringComparer.Ordinal);
        var reset = new HashSet<string>(StringComparer.Ordinal);
        void DeleteSubtree(string id)
        {
            if (!nodes.TryGetValue(id, out var n) || !delete.Add(id)) return;
            foreach (var child in n.Children ?? []) DeleteSubtree(child);
            // A step's own exit handler runs again after the step does.
            if (byName.TryGetValue($"{n.Name}.onExit", out var exit)) DeleteSubtree(exit.Id);
        }
        foreach (var id in targets)
        {
            if (delete.Contains(id) || Ancestors(id).Any(delete.Contains)) continue;
            DeleteSubtree(id);
            foreach (var a in Ancestors(id)) reset.Add(a);
        }
        reset.ExceptWith(delete);
        // DAG tasks omitted because of a failure are decided again once the failure is retried.
        foreach (var id in reset)
            if (nodes[id].Type == NodeType.Dag)
                foreach (var child in nodes[id].Children ?? [])
                    if (nodes.GetValueOrDefault(child)?.Phase == NodePhase.Omitted) DeleteSubtree(child);
        foreach (var n in nodes.Values.Where(InExitHandler)) delete.Add(n.Id);

        var pods = delete.Where(id => nodes[id].Type is NodeType.Pod or NodeType.Container).ToList();
        foreach (var id in delete) nodes.Remove(id);
        foreach (var id in reset) Reset(nodes[id], now);
        foreach (var n in nodes.Values)
        {
            n.Children?.RemoveAll(delete.Contains);
            n.OutboundNodes?.RemoveAll(delete.Contains);
        }

        var annotations = wf.Metadata.Annotations ??= [];
        if (pods.Count > 0)
        {
            var pending = annotations.GetValueOrDefault(WorkflowControls.PodsToDeleteAnnotation)?.Split(',', StringSplitOptions.RemoveEmptyEntries) ?? [];
            annotations[WorkflowControls.PodsToDeleteAnnotation] = string.Join(',', pending.Concat(pods).Distinct(StringComparer.Ordinal));
        }
        annotations.Remove(WorkflowControls.ShutdownMessageAnnotation);
        wf.Metadata.Labels?.Remove(CompletedLabel);
        status.Phase = WorkflowPhase.Running;
        status.Message = null;
        status.StartedAt = now;
        status.FinishedAt = null;
        wf.Spec.Shutdown = null;
        if (status.StoredWorkflowTemplateSpec is { } stored) stored.Shutdown = null;
        if (wf.Spec.ActiveDeadlineSeconds == 0) wf.Spec.ActiveDeadlineSeconds = null; // a deadline of 0 was a termination
    }

    /// <summary>Argo's resetNode: Skipped stays Skipped, everything else runs again.</summary>
    private static void Reset(NodeStatus n, DateTimeOffset now)
    {
        if (n.Phase != NodePhase.Skipped) n.Phase = NodePhase.Running;
        n.Message = null;
        n.StartedAt = now;
        n.FinishedAt = null;
    }
}

/// <summary>Argo's FormulateResubmitWorkflow: a new workflow object from a previous one.</summary>
internal static class Resubmission
{
    // Labels that describe the old run, not the workflow: not carried over.
    private static readonly HashSet<string> RunLabels = new(StringComparer.Ordinal)
    {
        "workflows.argoproj.io/creator", "workflows.argoproj.io/creator-email", "workflows.argoproj.io/creator-preferred-username",
        "workflows.argoproj.io/phase", "workflows.argoproj.io/completed", "workflows.argoproj.io/workflow-archiving-status",
    };

    private static readonly HashSet<string> RunAnnotations = new(StringComparer.Ordinal)
    {
        WorkflowControls.PodsToDeleteAnnotation, WorkflowControls.ShutdownMessageAnnotation, Annotations.ManifestFile,
    };

    public static Workflow Formulate(Workflow old, bool memoized, string? newName)
    {
        var generateName = old.Metadata.GenerateName is { Length: > 0 } g ? g : old.Name + "-";
        var wf = new Workflow
        {
            ApiVersion = old.ApiVersion,
            Kind = old.Kind,
            Spec = Json.Clone(old.Spec),
            Metadata = new ObjectMeta
            {
                Namespace = old.NamespaceOrDefault,
                // Memoized nodes are named after the workflow, so its name must be known now.
                Name = newName is { Length: > 0 } ? newName : memoized ? generateName + RandomSuffix() : null,
                GenerateName = newName is { Length: > 0 } || memoized ? null : generateName,
                Labels = old.Metadata.Labels?.Where(l => !RunLabels.Contains(l.Key)).ToDictionary(StringComparer.Ordinal) ?? [],
                Annotations = old.Metadata.Annotations?.Where(a => !RunAnnotations.Contains(a.Key)).ToDictionary(StringComparer.Ordinal),
                OwnerReferences = old.Metadata.OwnerReferences is { } owners ? Json.Clone(owners) : null,
            },
        };
        wf.Metadata.Labels[WorkflowControls.ResubmittedFromLabel] = old.Name;
        if (wf.Metadata.Annotations is { Count: 0 }) wf.Metadata.Annotations = null;
        wf.Spec.Shutdown = null;
        if (wf.Spec.ActiveDeadlineSeconds == 0) wf.Spec.ActiveDeadlineSeconds = null;
        return wf;
    }

    /// <summary>
    /// The old nodes under the new name: succeeded steps become Skipped ("original pod: ID") with their outputs,
    /// failed steps and every group wait to run again, the exit handler is left out.
    /// </summary>
    public static Dictionary<string, NodeStatus> MemoizedNodes(Workflow old, string newName, DateTimeOffset now)
    {
        var nodes = old.Status?.Nodes ?? [];
        var exitRoot = $"{old.Name}.onExit";
        string Rename(string nodeName) => nodeName.StartsWith(old.Name, StringComparison.Ordinal) ? newName + nodeName[old.Name.Length..] : nodeName;
        string NewId(string oldId) => nodes.TryGetValue(oldId, out var n) ? NodeIds.For(newName, Rename(n.Name)) : oldId;
        bool SucceededBelow(NodeStatus n, HashSet<string> seen) =>
            (n.Children ?? []).Any(c => seen.Add(c) && nodes.TryGetValue(c, out var child) && (child.Phase == NodePhase.Succeeded || SucceededBelow(child, seen)));

        var result = new Dictionary<string, NodeStatus>(StringComparer.Ordinal);
        foreach (var node in nodes.Values)
        {
            if (node.Name.StartsWith(exitRoot, StringComparison.Ordinal)) continue;
            if (node.Type == NodeType.Skipped && !SucceededBelow(node, [])) continue;
            var copy = Json.Clone(node);
            copy.Name = Rename(node.Name);
            copy.Id = NodeIds.For(newName, copy.Name);
            copy.BoundaryID = node.BoundaryID is { } b ? NewId(b) : null;
            copy.Children = node.Children?.Select(NewId).ToList();
            copy.OutboundNodes = node.OutboundNodes?.Select(NewId).ToList();
            var failedPod = node.Type == NodeType.Pod && NodePhase.IsFailedOrError(node.Phase);
            copy.StartedAt = copy.FinishedAt = failedPod ? null : now;
            if (node.Type == NodeType.Pod && !failedPod)
                (copy.Type, copy.Phase, copy.Message) = (NodeType.Skipped, NodePhase.Skipped, $"original pod: {node.Id}");
            else
                (copy.Phase, copy.Message) = (NodePhase.Pending, null);
            result[copy.Id] = copy;
        }
        foreach (var n in result.Values) n.Children?.RemoveAll(id => !result.ContainsKey(id));
        return result;
    }

    private static string RandomSuffix()
    {
        const string letters = "abcdefghijklmnopqrstuvwxyz0123456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = letters[Random.Shared.Next(letters.Length)];
        });
    }
}

/// <summary>
/// Argo's --node-field-selector: <c>field=value</c> or <c>field!=value</c> terms joined by commas, all of which
/// must hold. Fields: displayName, templateName, phase, name, id, templateRef.name, templateRef.template,
/// inputs.parameters.NAME.value.
/// </summary>
internal sealed class NodeFieldSelector
{
    private static readonly HashSet<string> Fields = new(StringComparer.Ordinal)
    {
        "displayName", "templateName", "phase", "name", "id", "templateRef.name", "templateRef.template",
    };

    private readonly string _text;
    private readonly List<(string Field, string Value, bool Equal)> _terms;

    private NodeFieldSelector(string text, List<(string, string, bool)> terms) => (_text, _terms) = (text, terms);

    public static NodeFieldSelector? ParseOrNull(string? text) => text is { Length: > 0 } t ? Parse(t) : null;

    public static NodeFieldSelector Parse(string text)
    {
        var terms = new List<(string, string, bool)>();
        foreach (var raw in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var (i, width, equal) = raw.IndexOf("!=", StringComparison.Ordinal) is var ne and >= 0 ? (ne, 2, false)
                : raw.IndexOf("==", StringComparison.Ordinal) is var ee and >= 0 ? (ee, 2, true)
                : (raw.IndexOf('='), 1, true);
            if (i <= 0)
                throw new WorkflowControlException($"nodeFieldSelector '{text}': '{raw}' must look like field=value or field!=value");
            var field = raw[..i].Trim();
            var isParameter = field.StartsWith("inputs.parameters.", StringComparison.Ordinal) && field.EndsWith(".value", StringComparison.Ordinal)
                && field.Length > "inputs.parameters..value".Length;
            if (!Fields.Contains(field) && !isParameter)
                throw new WorkflowControlException($"nodeFieldSelector '{text}': unknown field '{field}' (use {string.Join(", ", Fields)} or inputs.parameters.NAME.value)");
            terms.Add((field, raw[(i + width)..].Trim(), equal));
        }
        return new NodeFieldSelector(text, terms);
    }

    public bool Matches(NodeStatus node) => _terms.All(t => (Value(node, t.Field) == t.Value) == t.Equal);

    private static string Value(NodeStatus node, string field) => field switch
    {
        "displayName" => node.DisplayName,
        "templateName" => node.TemplateRef?.Template ?? node.TemplateName ?? "",
        "phase" => node.Phase,
        "name" => node.Name,
        "id" => node.Id,
        "templateRef.name" => node.TemplateRef?.Name ?? "",
        "templateRef.template" => node.TemplateRef?.Template ?? "",
        _ => node.Inputs?.Parameters?.FirstOrDefault(p => p.Name == field["inputs.parameters.".Length..^".value".Length])?.Value ?? "",
    };

    public override string ToString() => _text;
}
