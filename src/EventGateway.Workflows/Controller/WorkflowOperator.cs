using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Submission;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// One level-triggered reconcile pass over a workflow, in the manner of Argo's operator: walk the
/// template tree from the entrypoint, look at what the status already says, and take the next
/// decisions (create nodes, start pods, complete groups, retry, fail). It never waits and does no
/// I/O; pods to start, pods to kill and the next wake-up time are returned to the controller.
/// </summary>
public sealed partial class WorkflowOperator
{
    private const int MaxResultBytes = 256 * 1024;
    private readonly Workflow _wf;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, NodeStatus> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Template> _templates = new(StringComparer.Ordinal);
    private readonly List<PodRequest> _pods = [];
    private readonly List<string> _kill = [];
    private DateTimeOffset? _requeueAt;
    private VariableScope _globals = new();
    /// <summary>Why a workflow parameter has no value (a ConfigMap's is missing): the workflow ends in Error, as in Argo.</summary>
    private string? _globalsError;
    private int _activePods;
    private DateTimeOffset _now;

    public WorkflowOperator(Workflow wf, TimeProvider time)
    {
        _wf = wf;
        _time = time;
        foreach (var t in Spec.Templates ?? []) if (t.Name is not null) _templates[t.Name] = WithDefaults(t);
        foreach (var n in wf.Status?.Nodes?.Values.AsEnumerable() ?? []) _byName[n.Name] = n;
    }

    public Workflow Workflow => _wf;

    /// <summary>Loop items and nodes this workflow may have; the controller passes the service's.</summary>
    public Validation.WorkflowLimits Limits { get; init; } = Validation.WorkflowLimits.Default;

    /// <summary>The spec in force: a workflowTemplateRef's spec is frozen into status at submission.</summary>
    public WorkflowSpec Spec => _wf.Status?.StoredWorkflowTemplateSpec ?? _wf.Spec;

    private WorkflowStatus Status => _wf.Status!;
    private string WfName => _wf.Name;

    public OperateResult Operate(IEnumerable<PodResult> results)
    {
        _now = _time.GetUtcNow();
        _pods.Clear();
        _kill.Clear();
        _requeueAt = null;
        if (_wf.Status?.IsCompleted == true) return new OperateResult([], [], null, true);
        if (WaitsForWorkflowLocks()) return Result();
        if (_wf.Status?.Phase is null or WorkflowPhase.Pending)
        {
            Start();
            if (ApplyWorkflowMetadata() is { } metadataError)
            {
                Finish(WorkflowPhase.Error, metadataError);
                return Result();
            }
        }
        foreach (var r in results) ApplyPodResult(r);

        // spec.shutdown and spec.suspend are the workflow's own (operator controls), never a template's.
        var shutdown = _wf.Spec.Shutdown is { Length: > 0 } s ? s : null;
        if (shutdown is not null and not (WorkflowControls.ShutdownStop or WorkflowControls.ShutdownTerminate))
        {
            Finish(WorkflowPhase.Error, $"spec.shutdown: '{shutdown}' is not a shutdown strategy: use Stop or Terminate");
            return Result();
        }
        if (shutdown is not null) StopNodes(shutdown);

        var (done, total) = CountPods();
        _activePods = total - done;
        _globals = BuildGlobals();
        if (_globalsError is { } globalsError)
        {
            Finish(WorkflowPhase.Error, globalsError);
            return Result();
        }

        if (Spec.ActiveDeadlineSeconds is { } ads)
        {
            var deadline = Status.StartedAt!.Value + TimeSpan.FromSeconds(ads);
            if (_now >= deadline) FailActive("Step exceeded its deadline", NodePhase.Failed);
            else Wake(deadline);
        }

        // Suspended (Argo keeps the phase Running): steps already running finish, nothing new starts.
        // A shutdown overrides a suspension, or a suspended workflow could never be stopped.
        if (_wf.Spec.Suspend == true && shutdown is null && !Status.IsCompleted) return Result();

        var entry = Spec.Entrypoint is { } ep ? FindTemplate(ep) : null;
        if (entry is null)
        {
            Finish(WorkflowPhase.Error, $"entrypoint template '{Spec.Entrypoint}' not found");
            return Result();
        }

        var root = shutdown is not null && !_byName.ContainsKey(WfName)
            ? CreateNode(WfName, WfName, NodeTypeOf(entry), null, entry, NodePhase.Failed, StoppedMessage(shutdown))
            : Execute(WfName, WfName, entry, Spec.Arguments, boundaryId: null, _globals);
        // The loop check bounds fan-out; this bounds everything else (nested calls, hooks, retries) that adds nodes.
        if (_nodeCapReached || Status.Nodes!.Count > Limits.MaxWorkflowNodes)
        {
            FailActive($"workflow reached the limit of {Limits.MaxWorkflowNodes} nodes (--max-workflow-nodes)", NodePhase.Error);
            return Result();
        }
        if (root is null || !RunWorkflowHooks(root) || !root.Fulfilled) return Result();

        // Terminate runs no exit handler; Stop does (Argo's ShutdownStrategy.ShouldExecute).
        if (WorkflowExitHook() is { } exitHook && (shutdown != WorkflowControls.ShutdownTerminate || _byName.ContainsKey($"{WfName}.onExit")))
        {
            var exitNode = RunExitHandler($"{WfName}.onExit", $"{WfName}.onExit", exitHook, root, null, _globals);
            if (exitNode is null || !exitNode.Fulfilled) return Result();
        }
        var phase = root.Phase switch
        {
            NodePhase.Succeeded or NodePhase.Skipped => WorkflowPhase.Succeeded,
            NodePhase.Error => WorkflowPhase.Error,
            _ => WorkflowPhase.Failed,
        };
        var message = root.Phase == NodePhase.Succeeded ? null : root.Message ?? FirstFailureMessage();
        // A failed exit handler fails a workflow that had succeeded: Error stays Error (Argo's operate).
        if (phase == WorkflowPhase.Succeeded && _byName.GetValueOrDefault($"{WfName}.onExit") is { Phase: NodePhase.Failed or NodePhase.Error } failedExit)
            (phase, message) = (failedExit.Phase == NodePhase.Error ? WorkflowPhase.Error : WorkflowPhase.Failed, $"exit handler failed: {failedExit.Message}");
        if (shutdown is not null && NodePhase.IsFailedOrError(root.Phase)) message = StoppedMessage(shutdown);
        Finish(phase, message);
        return Result();
    }

    private static string StoppedMessage(string strategy) => $"Stopped with strategy '{strategy}'";

    /// <summary>Whether new work under this node name is refused: during a shutdown, except inside an exit handler under Stop.</summary>
    private bool Stopping(string nodeName) =>
        _wf.Spec.Shutdown is { Length: > 0 } s && !(s == WorkflowControls.ShutdownStop && IsExitHandler(nodeName));

    private static bool IsExitHandler(string nodeName) => nodeName.Contains(".onExit", StringComparison.Ordinal);

    /// <summary>
    /// spec.shutdown: every unfinished step (process or suspend) fails with Argo's message and its process is
    /// killed; the templates above them then complete as they would on a failure, running the exit hooks of their
    /// steps on the way (see <see cref="Stopping"/>). With Stop exit handlers (the workflow's and its steps') are
    /// spared and still run; with Terminate nothing is.
    /// </summary>
    private void StopNodes(string strategy)
    {
        foreach (var n in Status.Nodes!.Values)
        {
            if (n.Fulfilled || n.Type is not (NodeType.Pod or NodeType.Suspend)) continue;
            if (strategy == WorkflowControls.ShutdownStop && IsExitHandler(n.Name)) continue;
            Complete(n, NodePhase.Failed, StoppedMessage(strategy));
            if (n.Type == NodeType.Pod) _kill.Add(n.Id);
        }
    }

    /// <summary>
    /// Takes from a stored status the decisions made outside the controller on waiting suspend nodes (resume,
    /// or stop of a selected node); everything else in the status is the controller's own and newer.
    /// </summary>
    internal void AdoptSuspendDecisions(WorkflowStatus? stored)
    {
        foreach (var s in stored?.Nodes?.Values.AsEnumerable() ?? [])
        {
            if (s.Type != NodeType.Suspend || !s.Fulfilled) continue;
            if (_wf.Status?.Nodes?.GetValueOrDefault(s.Id) is not { Fulfilled: false } mine) continue;
            (mine.Phase, mine.Message, mine.FinishedAt, mine.Outputs) = (s.Phase, s.Message, s.FinishedAt, s.Outputs);
            ExportGlobalOutputs(s.Outputs);
        }
    }

    private OperateResult Result()
    {
        SettleLocks();
        Status.Progress = Progress();
        return new OperateResult([.. _pods], [.. _kill], Status.IsCompleted ? null : _requeueAt, Status.IsCompleted);
    }

    private void Start()
    {
        _wf.Status ??= new WorkflowStatus();
        Status.Phase = WorkflowPhase.Running;
        Status.StartedAt ??= Truncate(_time.GetUtcNow());
        Status.Nodes ??= [];
    }

    private void Finish(string phase, string? message)
    {
        Status.Phase = phase;
        Status.Message = message;
        Status.FinishedAt = Truncate(_now);
        foreach (var n in Status.Nodes!.Values.Where(n => !n.Fulfilled))
        {
            // Nothing is left running once the workflow has ended.
            n.Phase = NodePhase.Failed;
            n.Message ??= "workflow ended before this node completed";
            n.FinishedAt = Truncate(_now);
            if (n.Type == NodeType.Pod) _kill.Add(n.Id);
        }
    }

    private void Wake(DateTimeOffset at)
    {
        if (_requeueAt is null || at < _requeueAt) _requeueAt = at;
    }

    private string Progress()
    {
        var (done, total) = CountPods();
        return $"{done}/{total}";
    }

    private (int Done, int Total) CountPods()
    {
        int done = 0, total = 0;
        foreach (var n in Status.Nodes!.Values)
        {
            if (n.Type != NodeType.Pod) continue;
            total++;
            if (n.Fulfilled) done++;
        }
        return (done, total);
    }

    private string? FirstFailureMessage() =>
        Status.Nodes!.Values.Where(n => n.Type == NodeType.Pod && NodePhase.IsFailedOrError(n.Phase))
            .OrderBy(n => n.FinishedAt).Select(n => n.Message).FirstOrDefault(m => m is not null);

    /// <summary>Ends every unfinished node (workflow deadline) and asks the controller to kill their pods.</summary>
    private void FailActive(string message, string phase)
    {
        foreach (var n in Status.Nodes!.Values.Where(n => !n.Fulfilled))
        {
            n.Phase = phase;
            n.Message = message;
            n.FinishedAt = Truncate(_now);
            if (n.Type == NodeType.Pod) _kill.Add(n.Id);
        }
        var root = _byName.GetValueOrDefault(WfName);
        if (root is not null) root.Message = message;
        Finish(WorkflowPhase.Failed, message);
    }

    internal static DateTimeOffset Truncate(DateTimeOffset t) => new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);

    // ---- nodes ----

    private NodeStatus CreateNode(string name, string displayName, string type, string? boundaryId, Template? tmpl, string phase = NodePhase.Running, string? message = null)
    {
        var node = new NodeStatus
        {
            Id = NodeIds.For(WfName, name),
            Name = name,
            DisplayName = displayName,
            Type = type,
            TemplateName = tmpl?.Name,
            Phase = phase,
            BoundaryID = boundaryId,
            Message = message,
            StartedAt = Truncate(_now),
        };
        if (NodePhase.IsFulfilled(phase)) node.FinishedAt = node.StartedAt;
        // Never let two nodes share an id (one would silently replace the other and the run would hang).
        if (Status.Nodes!.TryGetValue(node.Id, out var other) && other.Name != name)
            throw new InvalidOperationException($"node id {node.Id} of '{name}' is already used by '{other.Name}'");
        Status.Nodes[node.Id] = node;
        _byName[name] = node;
        return node;
    }

    /// <summary>
    /// Each parent's children as a set, so that adding the 10,000th child of a loop does not scan the other
    /// 9,999 (it did, on every pass, for every running child). Rebuilt from the list if the two disagree.
    /// </summary>
    private readonly Dictionary<string, HashSet<string>> _childIds = new(StringComparer.Ordinal);

    private void AddChild(NodeStatus parent, NodeStatus child)
    {
        parent.Children ??= [];
        if (!_childIds.TryGetValue(parent.Id, out var ids) || ids.Count != parent.Children.Count)
            _childIds[parent.Id] = ids = new HashSet<string>(parent.Children, StringComparer.Ordinal);
        if (ids.Add(child.Id)) parent.Children.Add(child.Id);
    }

    private void Complete(NodeStatus node, string phase, string? message = null)
    {
        if (node.Fulfilled) return;
        node.Phase = phase;
        if (message is not null) node.Message = message;
        node.FinishedAt = Truncate(_now);
        node.Daemoned = null;
        if (node.Type is NodeType.Steps or NodeType.Dag) StopDaemons(node.Id);
    }

    private NodeStatus? Child(NodeStatus parent, int index) =>
        parent.Children is { } c && index < c.Count ? Status.Nodes!.GetValueOrDefault(c[index]) : null;

    private Template? FindTemplate(string name) => _templates.GetValueOrDefault(name);

    // Inline and referenced templates get spec.templateDefaults too; each is merged once and kept.
    private readonly Dictionary<Template, Template> _withDefaults = new(ReferenceEqualityComparer.Instance);

    private Template WithDefaults(Template t)
    {
        if (Spec.TemplateDefaults is not { } defaults) return t;
        if (!_withDefaults.TryGetValue(t, out var merged)) _withDefaults[t] = merged = TemplateDefaults.Apply(defaults, t);
        return merged;
    }

    /// <summary>A call's target: a local template, an inline one, or a templateRef frozen at submission.</summary>
    private Template? ResolveCall(TemplateCall call, VariableScope scope, out string? error)
    {
        error = null;
        if (call.Inline is { } inline) return WithDefaults(inline);
        if (call.TemplateRef is { } tr)
        {
            var key = TemplateRefs.Key(tr, _wf.NamespaceOrDefault);
            if (Status.StoredTemplates?.GetValueOrDefault(key) is { } stored) return WithDefaults(stored);
            error = $"templateRef {key} was not resolved at submission";
            return null;
        }
        var name = scope.Render(call.Template ?? "");
        var t = FindTemplate(name);
        if (t is null) error = $"template '{name}' not found";
        return t;
    }

    // ---- globals ----

    private VariableScope BuildGlobals()
    {
        var g = new VariableScope(CreationScope());
        var m = _wf.Metadata;
        g["workflow.name"] = WfName;
        g["workflow.namespace"] = _wf.NamespaceOrDefault;
        g["workflow.mainEntrypoint"] = Spec.Entrypoint;
        g["workflow.uid"] = m.Uid ?? "";
        g["workflow.serviceAccountName"] = Spec.ServiceAccountName ?? "default";
        g["workflow.priority"] = (Spec.Priority ?? 0).ToString(CultureInfo.InvariantCulture);
        // StartedAt is kept to the millisecond: a pass in the same millisecond must not see a negative duration.
        g["workflow.duration"] = Math.Max(0, (_now - (Status.StartedAt ?? _now)).TotalSeconds).ToString("0.######", CultureInfo.InvariantCulture);
        g["workflow.status"] = Status.Phase;
        var parameters = new JsonArray();
        foreach (var p in Spec.Arguments?.Parameters ?? [])
        {
            var value = p.Value;
            if (value is null && p.ValueFrom?.ConfigMapKeyRef is { } r)
            {
                (value, var error) = ConfigMapParameter(p.ValueFrom, g, acceptAnyErrorForDefault: true);
                if (error is not null) _globalsError ??= $"failed to set global parameter {p.Name} from configmap with name {r.Name} and key {r.Key}: {error}";
            }
            g[$"workflow.parameters.{p.Name}"] = value ?? "";
            parameters.Add(new JsonObject { ["name"] = p.Name, ["value"] = value ?? "" });
        }
        g["workflow.parameters"] = parameters.ToJsonString();
        // Argo's workflow.parameters.json: all of them as JSON (a parameter named json wins, as in Argo).
        if (g["workflow.parameters.json"] is null) g["workflow.parameters.json"] = g["workflow.parameters"];
        foreach (var (k, v) in m.Labels ?? []) g[$"workflow.labels.{k}"] = v;
        foreach (var (k, v) in m.Annotations ?? []) g[$"workflow.annotations.{k}"] = v;
        g["workflow.labels"] = JsonSerializer.Serialize(m.Labels ?? []);
        g["workflow.annotations"] = JsonSerializer.Serialize(m.Annotations ?? []);
        // Their .json forms (the bare names are Argo's deprecated ones); a label or annotation named json wins, as in Argo.
        if (g["workflow.labels.json"] is null) g["workflow.labels.json"] = g["workflow.labels"];
        if (g["workflow.annotations.json"] is null) g["workflow.annotations.json"] = g["workflow.annotations"];
        if (m.Annotations?.GetValueOrDefault(Schedules.CronScheduler.ScheduledTimeAnnotation) is { } scheduled) g["workflow.scheduledTime"] = scheduled;
        foreach (var p in Status.Outputs?.Parameters ?? []) g[$"workflow.outputs.parameters.{p.Name}"] = p.Value;
        foreach (var a in Status.Outputs?.Artifacts ?? []) g[$"workflow.outputs.artifacts.{a.Name}"] = Json.Serialize(a);
        return g;
    }

    private (DateTimeOffset At, VariableScope Scope)? _created;

    /// <summary>
    /// workflow.creationTimestamp and its parts, made once per workflow rather than at every pass (twenty date
    /// formats were a measurable part of a one-step workflow's passes); the parent of every pass's globals.
    /// </summary>
    private VariableScope? CreationScope()
    {
        if (_wf.Metadata.CreationTimestamp is not { } created) return null;
        if (_created is not { } cached || cached.At != created)
        {
            var scope = new VariableScope();
            CreationTimestamp(scope, created);
            _created = cached = (created, scope);
        }
        return cached.Scope;
    }

    /// <summary>workflow.creationTimestamp and its strftime-style parts (workflow.creationTimestamp.Y ...).</summary>
    internal static void CreationTimestamp(VariableScope g, DateTimeOffset t)
    {
        var u = t.UtcDateTime;
        g["workflow.creationTimestamp"] = u.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        g["workflow.creationTimestamp.RFC3339"] = g["workflow.creationTimestamp"];
        var parts = new Dictionary<string, string>
        {
            ["Y"] = "yyyy", ["y"] = "yy", ["m"] = "MM", ["d"] = "dd", ["e"] = "%d", ["H"] = "HH", ["I"] = "hh", ["M"] = "mm", ["S"] = "ss",
            ["b"] = "MMM", ["B"] = "MMMM", ["a"] = "ddd", ["A"] = "dddd", ["p"] = "tt", ["f"] = "ffffff",
        };
        foreach (var (k, fmt) in parts) g[$"workflow.creationTimestamp.{k}"] = u.ToString(fmt, CultureInfo.InvariantCulture);
        g["workflow.creationTimestamp.j"] = u.DayOfYear.ToString("000", CultureInfo.InvariantCulture);
        g["workflow.creationTimestamp.s"] = t.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        g["workflow.creationTimestamp.u"] = ((int)u.DayOfWeek == 0 ? 7 : (int)u.DayOfWeek).ToString(CultureInfo.InvariantCulture);
        g["workflow.creationTimestamp.w"] = ((int)u.DayOfWeek).ToString(CultureInfo.InvariantCulture);
    }

    private string Failures()
    {
        var list = new JsonArray();
        foreach (var n in Status.Nodes!.Values.Where(n => NodePhase.IsFailedOrError(n.Phase) && n.Type is NodeType.Pod))
            list.Add(new JsonObject
            {
                ["displayName"] = n.DisplayName, ["message"] = n.Message ?? "", ["templateName"] = n.TemplateName ?? "",
                ["phase"] = n.Phase, ["podName"] = n.Id, ["finishedAt"] = n.FinishedAt?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "",
            });
        return list.ToJsonString();
    }
}
