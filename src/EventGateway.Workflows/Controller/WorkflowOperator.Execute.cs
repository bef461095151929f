using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Languages.Expr;
using EventGateway.Languages.Govaluate;
using EventGateway.Languages.Tags;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Validation;

namespace EventGateway.Workflows.Controller;

public sealed partial class WorkflowOperator
{
    /// <summary>
    /// Runs (or continues) a template as the node called <paramref name="nodeName"/>. Returns null when the
    /// node cannot be created yet because a parallelism limit is reached.
    /// </summary>
    /// <summary>
    /// Nested template calls one pass follows, Argo's limit (150, since v3.5): a template calling itself ends in Error
    /// instead of overflowing the stack, which would take the service down again on every restart.
    /// </summary>
    public const int MaxCallDepth = 150;

    private int _callDepth;
    private bool _nodeCapReached;

    private NodeStatus? Execute(string nodeName, string displayName, Template tmpl, Arguments? args, string? boundaryId, VariableScope globals)
    {
        var existing = _byName.GetValueOrDefault(nodeName);
        if (existing is { Fulfilled: true }) return existing;
        // Past the node cap nothing new is made: the pass unwinds at once and Operate ends the workflow (a branching
        // recursion would otherwise double its nodes at every level within this one pass).
        if (existing is null && Status.Nodes!.Count >= Limits.MaxWorkflowNodes)
        {
            _nodeCapReached = true;
            return null;
        }
        if (_callDepth >= MaxCallDepth)
            return existing ?? CreateNode(nodeName, displayName, NodeTypeOf(tmpl), boundaryId, tmpl, NodePhase.Error,
                $"maximum recursion depth exceeded: more than {MaxCallDepth} nested template calls");
        _callDepth++;
        try
        {
            var retry = tmpl.RetryStrategy ?? Spec.RetryStrategy;
            if (retry is null || tmpl.Type is TemplateType.Steps or TemplateType.Dag or TemplateType.Suspend && tmpl.RetryStrategy is null)
                return ExecuteOnce(nodeName, displayName, tmpl, args, boundaryId, globals, attempt: null);
            return ExecuteWithRetries(nodeName, displayName, tmpl, args, boundaryId, globals, retry, existing);
        }
        catch (Exception e) when (IsNodeFailure(e))
        {
            // A pass is deterministic: an exception here would recur on every pass and the workflow would never end.
            return FailNode(nodeName, displayName, NodeTypeOf(tmpl), boundaryId, tmpl, e);
        }
        finally
        {
            _callDepth--;
        }
    }

    /// <summary>
    /// What evaluating a node's fields can throw (a bad expression, a value of the wrong shape, a fault of an
    /// evaluator): it fails that node, not the pass. Cancellation and exhausted memory are not a node's doing.
    /// </summary>
    private static bool IsNodeFailure(Exception e) => e is not (OperationCanceledException or OutOfMemoryException or StackOverflowException);

    /// <summary>Ends the node (created as Error if the exception came before it existed) with the exception's message.</summary>
    private NodeStatus FailNode(string nodeName, string displayName, string type, string? boundaryId, Template? tmpl, Exception e)
    {
        var message = e switch
        {
            ExpressionException or UnresolvedVariableException => e.Message,
            _ => $"internal error evaluating the node ({e.GetType().Name}): {e.Message}",
        };
        if (_byName.GetValueOrDefault(nodeName) is not { } node)
            return CreateNode(nodeName, displayName, type, boundaryId, tmpl, NodePhase.Error, message);
        if (node.Type == NodeType.Pod) StopPod(node, NodePhase.Error, message);
        else Complete(node, NodePhase.Error, message);
        return node;
    }

    private NodeStatus? ExecuteOnce(string nodeName, string displayName, Template tmpl, Arguments? args, string? boundaryId, VariableScope globals, (int Index, NodeStatus? Last)? attempt)
    {
        var node = _byName.GetValueOrDefault(nodeName);
        if (node is null)
        {
            var type = NodeTypeOf(tmpl);
            var (inputs, error) = ProcessInputs(tmpl, args, globals);
            if (error is not null)
                return CreateNode(nodeName, displayName, type, boundaryId, tmpl, NodePhase.Error, error);
            if (Stopping(nodeName)) return CreateNode(nodeName, displayName, type, boundaryId, tmpl, NodePhase.Failed, StoppedMessage(_wf.Spec.Shutdown!));
            if (type == NodeType.Pod && Spec.Parallelism is { } wfLimit && _activePods >= wfLimit) return null;
            node = CreateNode(nodeName, displayName, type, boundaryId, tmpl, type == NodeType.Pod ? NodePhase.Pending : NodePhase.Running);
            node.Inputs = inputs;
            if (type == NodeType.Pod) _activePods++;
        }
        if (node.Fulfilled) return node;

        var scope = TemplateScope(node, globals);
        if (attempt is null && WaitsForTemplateLocks(node, tmpl, scope)) return node;
        if (attempt is { } a)
        {
            scope["retries"] = a.Index.ToString(CultureInfo.InvariantCulture);
            if (a.Last is { } last) AddLastRetry(scope, last);
            else
            {
                // The first attempt has no last retry: Argo's defaults.
                (scope["lastRetry.exitCode"], scope["lastRetry.duration"]) = ("0", "0");
                (scope["lastRetry.status"], scope["lastRetry.message"]) = ("", "");
            }
        }
        switch (tmpl.Type)
        {
            case TemplateType.Container or TemplateType.Script or TemplateType.Http or TemplateType.Resource or TemplateType.Data:
                RequestPod(node, tmpl, scope);
                break;
            case TemplateType.Steps:
                ExecuteSteps(node, tmpl, scope, globals);
                break;
            case TemplateType.Dag:
                ExecuteDag(node, tmpl, scope, globals);
                break;
            case TemplateType.Suspend:
                ExecuteSuspend(node, tmpl, scope);
                break;
            case TemplateType.ContainerSet:
                ExecuteContainerSet(node, tmpl, scope);
                break;
            default:
                Complete(node, NodePhase.Error, $"template type {tmpl.Type} is not supported by the local executor yet");
                break;
        }
        CheckTemplateDeadline(node, tmpl, scope);
        CheckTemplateTimeout(node, tmpl, scope);
        return node;
    }

    /// <summary>
    /// A pod template's <c>timeout</c> (a duration, or a tag that renders to one) counts from the node's start, time
    /// spent Pending included, as Argo's does: a node still Pending past it fails with Argo's "timeout"; a started one
    /// is stopped by the executor at the deadline it was given (<see cref="RequestPod"/>), as past activeDeadlineSeconds.
    /// Steps and DAG templates are not bounded by it (Argo's docs).
    /// </summary>
    private void CheckTemplateTimeout(NodeStatus node, Template tmpl, VariableScope scope)
    {
        if (node.Fulfilled || node.Type != NodeType.Pod || tmpl.Timeout is not { Length: > 0 } text) return;
        var rendered = scope.Render(text);
        if (!Durations.TryParse(rendered, out var timeout))
        {
            StopPod(node, NodePhase.Error, $"invalid timeout format: '{rendered}' is not a duration like 30s, 5m or 1h");
            return;
        }
        if (node.Phase != NodePhase.Pending) return;
        var deadline = node.StartedAt!.Value + timeout;
        if (_now < deadline) Wake(deadline);
        else StopPod(node, NodePhase.Failed, "timeout");
    }

    /// <summary>Ends a pod node: a pod requested in this pass is not started, one handed over earlier is killed.</summary>
    private void StopPod(NodeStatus node, string phase, string message)
    {
        if (node.Fulfilled) return;
        if (_pods.RemoveAll(p => p.NodeId == node.Id) == 0 && _handedOver.Contains(node.Id)) _kill.Add(node.Id);
        Complete(node, phase, message);
        CompleteContainers(node);
    }

    private static string NodeTypeOf(Template t) => t.Type switch
    {
        TemplateType.Steps => NodeType.Steps,
        TemplateType.Dag => NodeType.Dag,
        TemplateType.Suspend => NodeType.Suspend,
        _ => NodeType.Pod,
    };

    /// <summary>activeDeadlineSeconds on a steps/DAG/suspend template fails it and stops what runs beneath it.</summary>
    private void CheckTemplateDeadline(NodeStatus node, Template tmpl, VariableScope scope)
    {
        if (node.Fulfilled || node.Type == NodeType.Pod || tmpl.ActiveDeadlineSeconds is not { } text) return;
        if (!long.TryParse(scope.Render(text), CultureInfo.InvariantCulture, out var secs)) return;
        var deadline = node.StartedAt!.Value + TimeSpan.FromSeconds(secs);
        if (_now < deadline) { Wake(deadline); return; }
        foreach (var n in Descendants(node).Where(n => !n.Fulfilled))
        {
            Complete(n, NodePhase.Failed, "Step exceeded its deadline");
            if (n.Type == NodeType.Pod) _kill.Add(n.Id);
        }
        Complete(node, NodePhase.Failed, "Step exceeded its deadline");
    }

    private IEnumerable<NodeStatus> Descendants(NodeStatus node)
    {
        foreach (var id in node.Children ?? [])
            if (Status.Nodes!.GetValueOrDefault(id) is { } c)
            {
                yield return c;
                foreach (var d in Descendants(c)) yield return d;
            }
    }

    // ---- retries ----

    private NodeStatus? ExecuteWithRetries(string nodeName, string displayName, Template tmpl, Arguments? args, string? boundaryId, VariableScope globals, RetryStrategy retry, NodeStatus? parent)
    {
        if (parent is null)
        {
            var (inputs, error) = ProcessInputs(tmpl, args, globals);
            if (error is not null) return CreateNode(nodeName, displayName, NodeType.Retry, boundaryId, tmpl, NodePhase.Error, error);
            if (Spec.Parallelism is { } wfLimit && _activePods >= wfLimit) return null;
            parent = CreateNode(nodeName, displayName, NodeType.Retry, boundaryId, tmpl);
            parent.Inputs = inputs;
        }
        if (WaitsForTemplateLocks(parent, tmpl, TemplateScope(parent, globals))) return parent;
        var childArgs = ArgumentsFrom(parent.Inputs);
        var count = parent.Children?.Count ?? 0;
        var last = count > 0 ? Child(parent, count - 1) : null;
        if (last is not null && !last.Fulfilled)
        {
            ExecuteOnce(last.Name, last.DisplayName, tmpl, childArgs, boundaryId, globals, (count - 1, count > 1 ? Child(parent, count - 2) : null));
            if (!last.Fulfilled)
            {
                MirrorDaemon(parent, last);
                return parent;
            }
        }
        parent.Daemoned = null;
        if (last is not null)
        {
            if (last.Phase is NodePhase.Succeeded or NodePhase.Skipped)
            {
                parent.Outputs = last.Outputs;
                Complete(parent, last.Phase);
                return parent;
            }
            var scope = TemplateScope(parent, globals);
            scope["retries"] = (count - 1).ToString(CultureInfo.InvariantCulture);
            AddLastRetry(scope, last);
            var (again, why, wait) = ShouldRetry(retry, parent, last, count, scope);
            if (!again)
            {
                parent.Outputs = last.Outputs;
                Complete(parent, last.Phase, why is null ? last.Message : $"{last.Message} ({why})");
                return parent;
            }
            if (Stopping(nodeName))
            {
                Complete(parent, last.Phase, StoppedMessage(_wf.Spec.Shutdown!));
                return parent;
            }
            if (wait > TimeSpan.Zero && last.FinishedAt + wait is { } resumeAt && _now < resumeAt)
            {
                parent.Message = $"Backoff for {wait.TotalSeconds:0.##}s";
                Wake(resumeAt);
                return parent;
            }
            parent.Message = null;
        }
        var childName = $"{nodeName}({count})";
        var child = ExecuteOnce(childName, $"{displayName}({count})", tmpl, childArgs, boundaryId, globals, (count, last));
        if (child is null) return parent;
        AddChild(parent, child);
        if (child.Fulfilled) return ExecuteWithRetries(nodeName, displayName, tmpl, args, boundaryId, globals, retry, parent);
        return parent;
    }

    /// <summary>Argo's retry decision: limit, policy (default OnFailure), expression, maxDuration, then the backoff to wait.</summary>
    private (bool Again, string? Why, TimeSpan Wait) ShouldRetry(RetryStrategy retry, NodeStatus parent, NodeStatus last, int attempts, VariableScope scope)
    {
        var limit = retry.Limit is { } l && int.TryParse(scope.Render(l), CultureInfo.InvariantCulture, out var n) ? n : int.MaxValue;
        if (attempts > limit) return (false, "No more retries left", TimeSpan.Zero);
        var policyAllows = (retry.RetryPolicy ?? "OnFailure") switch
        {
            "Always" => true,
            "OnFailure" => last.Phase == NodePhase.Failed,
            "OnError" or "OnTransientError" => last.Phase == NodePhase.Error,
            _ => false,
        };
        if (!policyAllows) return (false, null, TimeSpan.Zero);
        if (retry.Expression is { Length: > 0 } expr)
        {
            try
            {
                if (ArgoExpression.Evaluate(expr, scope.ExpressionEnv()) is not true) return (false, "retryStrategy.expression evaluated false", TimeSpan.Zero);
            }
            catch (ExpressionException e) { return (false, $"retryStrategy.expression failed: {e.Message}", TimeSpan.Zero); }
        }
        var wait = TimeSpan.Zero;
        if (retry.Backoff is { } b)
        {
            if (b.MaxDuration is { } md && Durations.TryParse(scope.Render(md), out var max) && parent.StartedAt + max < _now)
                return (false, "Max duration limit exceeded", TimeSpan.Zero);
            if (b.Duration is { } d && Durations.TryParse(scope.Render(d), out var baseWait))
            {
                var factor = b.Factor is { } f && double.TryParse(scope.Render(f), CultureInfo.InvariantCulture, out var ff) ? ff : 1;
                wait = TimeSpan.FromSeconds(baseWait.TotalSeconds * Math.Pow(factor, attempts - 1));
                if (b.Cap is { } c && Durations.TryParse(c, out var cap) && wait > cap) wait = cap;
                if (b.MaxDuration is { } md2 && Durations.TryParse(scope.Render(md2), out var max2) && parent.StartedAt + max2 < _now + wait)
                    return (false, "Max duration limit exceeded", TimeSpan.Zero);
            }
        }
        return (true, null, wait);
    }

    private static void AddLastRetry(VariableScope scope, NodeStatus last)
    {
        scope["lastRetry.exitCode"] = last.Outputs?.ExitCode ?? "";
        scope["lastRetry.status"] = last.Phase;
        scope["lastRetry.message"] = last.Message ?? "";
        var duration = last.FinishedAt is { } f && last.StartedAt is { } s ? (f - s).TotalSeconds : 0;
        scope["lastRetry.duration"] = duration.ToString("0.###", CultureInfo.InvariantCulture);
    }

    // ---- inputs and scopes ----

    /// <summary>Binds a call's arguments to a template's declared inputs, applying defaults and enums.</summary>
    private (Inputs? Inputs, string? Error) ProcessInputs(Template tmpl, Arguments? args, VariableScope globals)
    {
        if (tmpl.Inputs is null) return (null, null);
        var inputs = new Inputs();
        foreach (var p in tmpl.Inputs.Parameters ?? [])
        {
            var arg = args?.Parameters?.FirstOrDefault(a => a.Name == p.Name);
            if (arg?.Value == AbsentArgument)
            {
                // Only a reference to an absent output: the input's own value, default or valueFrom applies (Argo's rule).
                if (p.Value is null && p.Default is null && p.ValueFrom is null)
                    return (null, $"inputs.parameters.{p.Name}: argument references an absent optional (skipped/omitted node output with no default)");
                arg = null;
            }
            var value = arg?.Value ?? p.Value ?? p.Default ?? p.ValueFrom?.Default;
            // An argument's valueFrom replaces the input's own, as in Argo; a ConfigMap's value wins over a default.
            if ((arg is null ? p.ValueFrom : arg.Value is null ? arg.ValueFrom : null) is { ConfigMapKeyRef: not null } from)
            {
                var (cmValue, cmError) = ConfigMapParameter(from, globals, acceptAnyErrorForDefault: false);
                if (cmError is not null) return (null, $"unable to retrieve inputs.parameters.{p.Name} from ConfigMap: {cmError}");
                value = cmValue;
            }
            if (value is null) return (null, $"inputs.parameters.{p.Name} was not supplied");
            value = globals.Render(value);
            if (p.Enum is { Count: > 0 } allowed && !allowed.Contains(value))
                return (null, $"inputs.parameters.{p.Name}: value '{value}' is not one of the allowed values [{string.Join(", ", allowed)}]");
            (inputs.Parameters ??= []).Add(new Parameter { Name = p.Name, Value = value, Enum = p.Enum, Description = p.Description });
        }
        foreach (var a in tmpl.Inputs.Artifacts ?? [])
        {
            var arg = args?.Artifacts?.FirstOrDefault(x => x.Name == a.Name);
            var resolved = Json.Clone(a);
            if (arg?.Local is { } local) resolved.Local = local;
            else if (arg?.Raw is { } raw) resolved.Raw = raw;
            else if (arg?.S3 is { } s3) (resolved.S3, resolved.Archive) = (s3, resolved.Archive ?? arg.Archive);
            else if (arg?.Http is { } http) resolved.Http = http;
            else if (arg?.Git is { } git) resolved.Git = git;
            else if (a.Raw is null && a.Local is null && a.S3 is null && a.Http is null && a.Git is null)
            {
                if (a.Optional == true) continue;
                return (null, $"inputs.artifacts.{a.Name} was not supplied");
            }
            (inputs.Artifacts ??= []).Add(resolved);
        }
        return (inputs, null);
    }

    private static Arguments? ArgumentsFrom(Inputs? inputs) => inputs is null ? null : new Arguments
    {
        Parameters = inputs.Parameters?.Select(p => new Parameter { Name = p.Name, Value = p.Value }).ToList(),
        Artifacts = inputs.Artifacts,
    };

    private VariableScope TemplateScope(NodeStatus node, VariableScope globals)
    {
        var scope = new VariableScope(globals);
        var all = new JsonArray();
        foreach (var p in node.Inputs?.Parameters ?? [])
        {
            scope[$"inputs.parameters.{p.Name}"] = p.Value;
            all.Add(new JsonObject { ["name"] = p.Name, ["value"] = p.Value });
        }
        scope["inputs.parameters"] = all.ToJsonString();
        foreach (var a in node.Inputs?.Artifacts ?? [])
        {
            if (a.Path is not null) scope[$"inputs.artifacts.{a.Name}.path"] = a.Path;
            scope[$"inputs.artifacts.{a.Name}"] = Json.Serialize(a);
        }
        scope["node.name"] = node.Name;
        scope["pod.name"] = node.Id;
        // steps.name / tasks.name: the step or task this node runs for (its name, without loop or retry suffixes). Argo
        // runs the entrypoint and the workflow's exit handler as steps without a name: there, steps.name is empty.
        if (node.BoundaryID is null) scope["steps.name"] = "";
        else if (Status.Nodes!.GetValueOrDefault(node.BoundaryID) is { Type: NodeType.Steps or NodeType.Dag } boundary)
            scope[boundary.Type == NodeType.Steps ? "steps.name" : "tasks.name"] = node.DisplayName.Split('(')[0];
        return scope;
    }

    /// <summary>Renders a call's arguments in the caller's scope; artifact "from" references become artifact records.</summary>
    private static (Arguments? Args, string? Error) RenderArguments(Arguments? args, VariableScope scope)
    {
        if (args is null) return (null, null);
        var result = new Arguments();
        foreach (var p in args.Parameters ?? [])
        {
            string? value = null;
            if (p.Value is not null)
            {
                var (absent, absentError) = AbsentReference(p.Value, scope);
                if (absentError is not null) return (null, absentError);
                value = absent ?? scope.Render(p.Value);
            }
            else if (p.ValueFrom?.Expression is { } expr) value = EvaluateToString(expr, scope);
            // A ConfigMap's value is read when the called template takes its inputs (ProcessInputs).
            var fromConfigMap = value is null && p.ValueFrom?.ConfigMapKeyRef is not null ? p.ValueFrom : null;
            (result.Parameters ??= []).Add(new Parameter { Name = p.Name, Value = value, ValueFrom = fromConfigMap });
        }
        foreach (var a in args.Artifacts ?? [])
        {
            var copy = new Artifact { Name = a.Name, Raw = a.Raw is null ? null : new RawArtifact { Data = scope.Render(a.Raw.Data) }, Path = a.Path, Optional = a.Optional, S3 = a.S3, Archive = a.Archive, Http = a.Http, Git = a.Git };
            if (a.From is { } from)
            {
                if (ArtifactRecord(scope.Render(from)) is { } source)
                {
                    copy.Local = source.Local;
                    copy.Raw ??= source.Raw;
                    (copy.S3, copy.Archive) = (source.S3, copy.Archive ?? source.Archive);
                    if (a.SubPath is { Length: > 0 } subPath) AppendSubPath(copy, scope.Render(subPath));
                }
                else if (a.Optional != true) return (null, $"artifact '{a.Name}': cannot resolve from '{from}'");
            }
            else if (copy.S3 is { Key: { } key })
            {
                copy.S3 = Json.Clone(copy.S3);
                copy.S3.Key = scope.Render(key);
            }
            (result.Artifacts ??= []).Add(copy);
        }
        return (result, null);
    }

    /// <summary>
    /// An argument's <c>subPath</c>: a file or directory inside the artifact it comes from, as Argo appends it to the
    /// source's key. The key checks (no <c>..</c>, own namespace) apply to the result when it is loaded.
    /// </summary>
    private static void AppendSubPath(Artifact artifact, string subPath)
    {
        var tail = subPath.Trim('/');
        if (tail.Length == 0) return;
        if (artifact.S3 is { Key: { } s3Key })
        {
            artifact.S3 = Json.Clone(artifact.S3);
            artifact.S3.Key = $"{s3Key.TrimEnd('/')}/{tail}";
        }
        else if (artifact.Local is { } local) artifact.Local = new LocalArtifact { Key = $"{local.Key.TrimEnd('/')}/{tail}" };
    }

    /// <summary>An artifact reference renders to the artifact's JSON record; anything else is unresolved.</summary>
    private static Artifact? ArtifactRecord(string rendered)
    {
        if (!rendered.StartsWith('{') || rendered.StartsWith("{{", StringComparison.Ordinal)) return null;
        try { return JsonSerializer.Deserialize<Artifact>(rendered, Json.Lenient); }
        catch (JsonException) { return null; }
    }

    private static string EvaluateToString(string expr, VariableScope scope) =>
        ArgoExpression.Stringify(ArgoExpression.Evaluate(expr, scope.ExpressionEnv()));

    /// <summary>The outputs a steps/DAG template declares, resolved from its children's outputs.</summary>
    private static Outputs? ResolveOutputs(Template tmpl, VariableScope scope)
    {
        if (tmpl.Outputs is null) return null;
        var outputs = new Outputs();
        foreach (var p in tmpl.Outputs.Parameters ?? [])
        {
            string? value = null;
            if (p.ValueFrom?.Parameter is { } from) value = scope.Render(from);
            else if (p.ValueFrom?.Expression is { } expr)
            {
                try { value = EvaluateToString(expr, scope); }
                catch (ExpressionException) { value = null; }
            }
            else if (p.Value is not null) value = scope.Render(p.Value);
            if (value is null || value.Contains("{{", StringComparison.Ordinal)) value = p.ValueFrom?.Default ?? value;
            (outputs.Parameters ??= []).Add(new Parameter { Name = p.Name, Value = value, GlobalName = p.GlobalName });
        }
        foreach (var a in tmpl.Outputs.Artifacts ?? [])
        {
            if (a.From is not { } from || ArtifactRecord(scope.Render(from)) is not { } source) continue;
            (outputs.Artifacts ??= []).Add(new Artifact { Name = a.Name, Path = source.Path, Local = source.Local, S3 = source.S3, Archive = source.Archive, GlobalName = a.GlobalName });
        }
        return outputs;
    }

    /// <summary>Exposes a finished call's outputs as steps.NAME.* or tasks.NAME.*, aggregating loops as Argo does.</summary>
    private void AddCallOutputs(VariableScope scope, string prefix, NodeStatus node, bool isLoop, TemplateCall? call = null)
    {
        scope[$"{prefix}.id"] = node.Id;
        if (node.PodIP is { } ip) scope[$"{prefix}.ip"] = ip;
        scope[$"{prefix}.status"] = node.Phase;
        scope[$"{prefix}.startedAt"] = node.StartedAt?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        scope[$"{prefix}.finishedAt"] = node.FinishedAt?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        scope[$"{prefix}.hostNodeName"] = node.HostNodeName;
        if (!isLoop)
        {
            if (call is not null && node.Outputs is null && node.Phase is NodePhase.Skipped or NodePhase.Omitted) AddOutputsNeverProduced(scope, prefix, call);
            var o = node.Outputs;
            if (o is null) return;
            if (o.Result is not null) scope[$"{prefix}.outputs.result"] = o.Result;
            if (o.ExitCode is not null) scope[$"{prefix}.exitCode"] = o.ExitCode;
            foreach (var p in o.Parameters ?? []) scope[$"{prefix}.outputs.parameters.{p.Name}"] = p.Value;
            foreach (var a in o.Artifacts ?? []) scope[$"{prefix}.outputs.artifacts.{a.Name}"] = Json.Serialize(a);
            return;
        }
        var children = (node.Children ?? []).Select(id => Status.Nodes!.GetValueOrDefault(id)).OfType<NodeStatus>().ToList();
        var results = new JsonArray();
        var parameterMaps = new JsonArray();
        var byName = new Dictionary<string, JsonArray>(StringComparer.Ordinal);
        foreach (var c in children)
        {
            if (c.Outputs?.Result is { } r) results.Add(ParseOrString(r));
            if (c.Outputs?.Parameters is { Count: > 0 } ps)
            {
                var map = new JsonObject();
                foreach (var p in ps)
                {
                    map[p.Name] = p.Value;
                    if (!byName.TryGetValue(p.Name, out var list)) byName[p.Name] = list = [];
                    list.Add(p.Value);
                }
                parameterMaps.Add(map);
            }
        }
        if (results.Count > 0) scope[$"{prefix}.outputs.result"] = results.ToJsonString();
        scope[$"{prefix}.outputs.parameters"] = parameterMaps.ToJsonString();
        foreach (var (name, values) in byName) scope[$"{prefix}.outputs.parameters.{name}"] = values.ToJsonString();
    }

    /// <summary>
    /// Argo's (v4.0.7) outputs of a call that never ran: a declared output parameter with a <c>valueFrom.default</c>
    /// is that default; one without, and a declared <c>result</c>, are absent (see <see cref="VariableScope.MarkAbsent"/>).
    /// </summary>
    private void AddOutputsNeverProduced(VariableScope scope, string prefix, TemplateCall call)
    {
        Template? tmpl;
        try { tmpl = ResolveCall(call, scope, out _); }
        catch (Exception e) when (IsNodeFailure(e)) { return; }
        foreach (var p in tmpl?.Outputs?.Parameters ?? [])
        {
            if (p.ValueFrom?.Default is { } d) scope[$"{prefix}.outputs.parameters.{p.Name}"] = d;
            else scope.MarkAbsent($"{prefix}.outputs.parameters.{p.Name}");
        }
        if (tmpl?.Outputs?.Result is not null) scope.MarkAbsent($"{prefix}.outputs.result");
    }

    /// <summary>An argument that is only a reference to an absent output: the input's own default applies (Argo's marker).</summary>
    internal const string AbsentArgument = "__argo-internal.absent-optional-output__";

    /// <summary>
    /// An argument that names an absent output: omitted when it is nothing but that reference (the input's default then
    /// applies), else an error that says so, as Argo fails such a node instead of passing an empty string.
    /// </summary>
    private static (string? Value, string? Error) AbsentReference(string raw, VariableScope scope)
    {
        foreach (var name in TagSubstitution.VariableNames(raw))
        {
            if (!scope.IsAbsent(name)) continue;
            if (raw.Trim() is var t && t.StartsWith("{{", StringComparison.Ordinal) && t.EndsWith("}}", StringComparison.Ordinal) && t[2..^2].Trim() == name)
                return (AbsentArgument, null);
            return (null, $"unable to substitute {{{{{name}}}}}: output is an absent optional (skipped/omitted node with no default)");
        }
        return (null, null);
    }

    private static JsonNode? ParseOrString(string text)
    {
        var t = text.Trim();
        if (t.Length > 0 && (t[0] is '{' or '[' or '"' || char.IsAsciiDigit(t[0]) || t[0] == '-' || t is "true" or "false"))
        {
            try { return JsonNode.Parse(t); }
            catch (JsonException) { }
        }
        return JsonValue.Create(text);
    }

    // ---- loops ----

    private sealed record LoopChild(string Name, string DisplayName, JsonNode? Item);

    // A loop's items cannot change once its group runs (earlier outputs are final), so each loop is
    // expanded once per operator rather than on every pass: a 10,000-item fan-out stays linear.
    private readonly Dictionary<string, List<LoopChild>> _expanded = new(StringComparer.Ordinal);

    private (List<LoopChild>? Children, string? Error) ExpandOnce(TemplateCall call, string baseName, VariableScope scope)
    {
        if (_expanded.TryGetValue(baseName, out var cached)) return (cached, null);
        List<LoopChild>? children;
        string? error;
        try { (children, error) = Expand(call, baseName, scope, Limits.MaxLoopItems); }
        catch (Exception e) when (IsNodeFailure(e)) { (children, error) = (null, e.Message); }
        if (children is not null && call.IsLoop)
        {
            // Checked once, when the loop first expands; children already in the status (a restart) are not counted twice.
            var added = children.Count(c => !_byName.ContainsKey(c.Name));
            if (Status.Nodes!.Count + added > Limits.MaxWorkflowNodes)
                return (null, $"{children.Count} loop items would take the workflow past the limit of {Limits.MaxWorkflowNodes} nodes (--max-workflow-nodes)");
            _expanded[baseName] = children;
        }
        return (children, error);
    }

    private static string TooMany(long n, int max) => $"{n} loop items exceed the limit of {max} (--max-loop-items)";

    /// <summary>
    /// Expands withItems / withParam / withSequence into named children, or one child without a loop. The item count is
    /// known and checked against <paramref name="maxItems"/> before any item is made.
    /// </summary>
    private static (List<LoopChild>? Children, string? Error) Expand(TemplateCall call, string baseName, VariableScope scope, int maxItems)
    {
        if (!call.IsLoop) return ([new LoopChild(baseName, call.Name, null)], null);
        List<JsonNode?> items;
        if (call.WithItems is { } withItems)
        {
            if (withItems.Count > maxItems) return (null, $"withItems: {TooMany(withItems.Count, maxItems)}");
            items = withItems.Select(i => RenderItem(i, scope)).ToList();
        }
        else if (call.WithParam is { } withParam)
        {
            var text = scope.Render(withParam);
            try
            {
                // Counted on the compact document first: a huge list is refused without building its nodes.
                using (var doc = JsonDocument.Parse(text))
                {
                    if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new JsonException("not a list");
                    if (doc.RootElement.GetArrayLength() is var n && n > maxItems) return (null, $"withParam: {TooMany(n, maxItems)}");
                }
                items = JsonNode.Parse(text) is JsonArray arr ? [.. arr.Select(n => n?.DeepClone())] : throw new JsonException("not a list");
            }
            catch (JsonException)
            {
                return (null, $"withParam value could not be parsed as a JSON list: {Shorten(text)}");
            }
        }
        else
        {
            var seq = call.WithSequence!;
            string? R(string? v) => v is null ? null : scope.Render(v);
            var (measured, error) = LoopSequence.Measure(R(seq.Start), R(seq.Count), R(seq.End));
            if (measured is not { } sequence) return (null, $"withSequence: {error}");
            if (sequence.Length > maxItems) return (null, $"withSequence: {TooMany(sequence.Length, maxItems)}");
            var format = seq.Format is null ? null : R(seq.Format);
            items = new List<JsonNode?>((int)sequence.Length);
            for (long i = 0; i < sequence.Length; i++) items.Add(JsonValue.Create(FormatSeq(sequence[i], format)));
        }
        var children = new List<LoopChild>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            var label = ItemLabel(items[i]);
            children.Add(new LoopChild($"{baseName}({i}:{label})", $"{call.Name}({i}:{label})", items[i]));
        }
        return (children, null);
    }

    private static JsonNode? RenderItem(JsonNode? item, VariableScope scope) => item switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => JsonValue.Create(scope.Render(s)),
        JsonObject o => new JsonObject(o.Select(p => KeyValuePair.Create(p.Key, RenderItem(p.Value, scope)))),
        JsonArray a => new JsonArray([.. a.Select(x => RenderItem(x, scope))]),
        _ => item?.DeepClone(),
    };

    private static string ItemLabel(JsonNode? item) => item switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}:{ItemLabel(p.Value)}")),
        null => "null",
        _ => item.ToJsonString(),
    };

    private static string FormatSeq(long i, string? format)
    {
        if (format is null) return i.ToString(CultureInfo.InvariantCulture);
        // printf-style %d / %02d / %x as Argo's withSequence format uses.
        var m = System.Text.RegularExpressions.Regex.Match(format, @"%(0?)(\d*)([dxX])");
        if (!m.Success) return format;
        var width = m.Groups[2].Value.Length > 0 ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
        var body = m.Groups[3].Value switch { "x" => i.ToString("x", CultureInfo.InvariantCulture), "X" => i.ToString("X", CultureInfo.InvariantCulture), _ => i.ToString(CultureInfo.InvariantCulture) };
        body = m.Groups[1].Value == "0" ? body.PadLeft(width, '0') : body.PadLeft(width);
        return format[..m.Index] + body + format[(m.Index + m.Length)..];
    }

    private static string Shorten(string s) => s.Length > 120 ? s[..120] + "…" : s;

    private bool EvaluateWhen(string when, VariableScope scope, out string? error)
    {
        error = null;
        var rendered = when;
        try
        {
            rendered = scope.Render(when);
            if (rendered.Contains("{{", StringComparison.Ordinal)) { error = $"when '{when}': unresolved variable in '{rendered}'"; return false; }
            return WhenCondition.Evaluate(rendered);
        }
        catch (ExpressionException e)
        {
            error = $"when '{when}' could not be evaluated: {e.Message}";
            return false;
        }
    }
}
