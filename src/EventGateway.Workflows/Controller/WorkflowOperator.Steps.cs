using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Controller;

public sealed partial class WorkflowOperator
{
    /// <summary>Step groups run in order; the steps of one group run in parallel; a failed step ends the template.</summary>
    private void ExecuteSteps(NodeStatus node, Template tmpl, VariableScope scope, VariableScope globals)
    {
        var stepsScope = new VariableScope(scope);
        var groups = tmpl.Steps!;
        for (var i = 0; i < groups.Count; i++)
        {
            var groupName = $"{node.Name}[{i}]";
            var group = _byName.GetValueOrDefault(groupName);
            if (group is null)
            {
                group = CreateNode(groupName, $"[{i}]", NodeType.StepGroup, node.Id, tmpl);
                AddChild(node, group);
            }
            if (!group.Fulfilled) ExecuteStepGroup(group, groups[i], tmpl, node, stepsScope, globals);
            if (!group.Fulfilled) return;
            if (NodePhase.IsFailedOrError(group.Phase))
            {
                Complete(node, NodePhase.Failed, group.Message);
                return;
            }
            foreach (var step in groups[i])
                if (_byName.GetValueOrDefault($"{groupName}.{step.Name}") is { } single) AddCallOutputs(stepsScope, $"steps.{step.Name}", single, isLoop: false, step);
                else if (step.IsLoop) AddCallOutputs(stepsScope, $"steps.{step.Name}", LoopAggregate(group, step.Name), isLoop: true);
        }
        node.Outputs = ResolveOutputs(tmpl, stepsScope);
        ExportGlobalOutputs(node.Outputs);
        Complete(node, NodePhase.Succeeded);
    }

    /// <summary>A stand-in node whose children are a loop step's expanded children in one group.</summary>
    private NodeStatus LoopAggregate(NodeStatus group, string stepName)
    {
        var prefix = $"{group.Name}.{stepName}(";
        var children = (group.Children ?? []).Where(id => Status.Nodes!.GetValueOrDefault(id)?.Name.StartsWith(prefix, StringComparison.Ordinal) == true).ToList();
        return new NodeStatus { Id = group.Id, Name = group.Name, Phase = group.Phase, Children = children, StartedAt = group.StartedAt, FinishedAt = group.FinishedAt };
    }

    private readonly Dictionary<string, (int Count, NodeStatus? Failure)> _finishedPrefix = new(StringComparer.Ordinal);

    private void ExecuteStepGroup(NodeStatus group, List<WorkflowStep> steps, Template tmpl, NodeStatus stepsNode, VariableScope scope, VariableScope globals)
    {
        var allDone = true;
        NodeStatus? failed = null;
        var active = tmpl.Parallelism is null ? 0 : CountActiveChildren(group);
        foreach (var step in steps)
        {
            var baseName = $"{group.Name}.{step.Name}";
            var (children, error) = ExpandOnce(step, baseName, scope);
            if (children is null)
            {
                var bad = _byName.GetValueOrDefault(baseName) ?? CreateNode(baseName, step.Name, NodeType.Skipped, stepsNode.Id, null, NodePhase.Error, error);
                AddChild(group, bad);
                failed ??= bad;
                continue;
            }
            if (children.Count == 0)
            {
                var empty = _byName.GetValueOrDefault(baseName) ?? CreateNode(baseName, step.Name, NodeType.Skipped, stepsNode.Id, null, NodePhase.Skipped, "Skipped, empty params");
                AddChild(group, empty);
                continue;
            }
            // Children finish roughly in order: skip the finished prefix instead of rescanning it every pass.
            var (start, prefixFailure) = _finishedPrefix.GetValueOrDefault(baseName);
            failed ??= prefixFailure;
            var advancing = true;
            for (var i = start; i < children.Count; i++)
            {
                var c = children[i];
                var node = _byName.GetValueOrDefault(c.Name);
                if (node is { Fulfilled: true } && HooksSettled(step, c.Name))
                {
                    if (NodePhase.IsFailedOrError(node.Phase) && !ContinuesOn(step, node)) failed ??= node;
                    if (advancing) _finishedPrefix[baseName] = (i + 1, failed);
                    continue;
                }
                advancing = false;
                // Children are created in order, so once one cannot start, none after it exists or can start.
                if (node is null && tmpl.Parallelism is { } limit && active >= limit) { allDone = false; break; }
                node = RunCall(step, c, group, stepsNode, scope, globals, out var skipped, out var exitPending);
                if (node is null) { allDone = false; break; }
                if (!skipped && node.Type != NodeType.Skipped && !Settled(node)) active++;
                if (!Settled(node) || exitPending) allDone = false;
                else if (NodePhase.IsFailedOrError(node.Phase) && !ContinuesOn(step, node)) failed ??= node;
            }
        }
        if (!allDone) return;
        if (failed is not null) Complete(group, NodePhase.Failed, $"child '{failed.Id}' failed");
        else Complete(group, NodePhase.Succeeded);
    }

    /// <summary>Runs one (expanded) step or task: guard, target template, arguments, then the template itself.</summary>
    /// <param name="exitPending">the call finished but its own onExit handler has not yet.</param>
    private NodeStatus? RunCall(TemplateCall call, LoopChild c, NodeStatus parent, NodeStatus boundary, VariableScope scope, VariableScope globals, out bool skipped, out bool exitPending)
    {
        skipped = false;
        exitPending = false;
        var callScope = scope;
        if (c.Item is not null || call.IsLoop)
        {
            callScope = new VariableScope(scope);
            callScope.SetItem(c.Item);
        }
        var existing = _byName.GetValueOrDefault(c.Name);
        try
        {
            return RunCallBody(call, c, parent, boundary, callScope, globals, existing, out skipped, out exitPending);
        }
        catch (Exception e) when (IsNodeFailure(e))
        {
            // The call's own fields (when, template name, arguments) failed to evaluate: the call's node fails.
            var node = FailNode(c.Name, c.DisplayName, NodeType.Skipped, boundary.Id, null, e);
            AddChild(parent, node);
            return node;
        }
    }

    private NodeStatus? RunCallBody(TemplateCall call, LoopChild c, NodeStatus parent, NodeStatus boundary, VariableScope callScope, VariableScope globals, NodeStatus? existing, out bool skipped, out bool exitPending)
    {
        skipped = false;
        exitPending = false;
        if (existing is null && call.When is { } when && !EvaluateWhen(when, callScope, out var whenError))
        {
            skipped = true;
            var node = whenError is null
                ? CreateNode(c.Name, c.DisplayName, NodeType.Skipped, boundary.Id, null, NodePhase.Skipped, $"when '{callScope.Render(when)}' evaluated false")
                : CreateNode(c.Name, c.DisplayName, NodeType.Skipped, boundary.Id, null, NodePhase.Error, whenError);
            AddChild(parent, node);
            return node;
        }
        var target = ResolveCall(call, callScope, out var resolveError);
        if (target is null)
        {
            var node = existing ?? CreateNode(c.Name, c.DisplayName, NodeType.Skipped, boundary.Id, null, NodePhase.Error, resolveError);
            AddChild(parent, node);
            return node;
        }
        Arguments? args = null;
        if (existing is null)
        {
            var (rendered, argError) = RenderArguments(call.Arguments, callScope);
            if (argError is not null)
            {
                var node = CreateNode(c.Name, c.DisplayName, NodeTypeOf(target), boundary.Id, target, NodePhase.Error, argError);
                AddChild(parent, node);
                return node;
            }
            args = rendered;
        }
        var result = Execute(c.Name, c.DisplayName, target, args ?? ArgumentsFrom(existing?.Inputs), boundary.Id, globals);
        if (result is null) return null;
        AddChild(parent, result);
        // Its hooks, and after it its exit handler, whatever its outcome, before the step counts as done.
        exitPending = !RunCallHooks(call, target, result, boundary, callScope) && result.Fulfilled;
        return result;
    }

    private static bool ContinuesOn(TemplateCall call, NodeStatus node) =>
        (node.Phase == NodePhase.Failed && call.ContinueOn?.Failed == true) || (node.Phase == NodePhase.Error && call.ContinueOn?.Error == true);

    /// <summary>
    /// Per parent, how many of its first children are fulfilled. A node of this operator never goes back
    /// from fulfilled, so counting the active children starts there: a pass over a 10,000-item loop looks at
    /// its running window, not at everything that already ran.
    /// </summary>
    private readonly Dictionary<string, int> _settledChildren = new(StringComparer.Ordinal);

    private int CountActiveChildren(NodeStatus parent)
    {
        if (parent.Children is not { } ids) return 0;
        var settled = Math.Min(_settledChildren.GetValueOrDefault(parent.Id), ids.Count);
        var n = 0;
        for (var i = settled; i < ids.Count; i++)
        {
            if (Status.Nodes!.GetValueOrDefault(ids[i]) is { Fulfilled: false }) n++;
            else if (n == 0 && settled == i) settled++;
        }
        _settledChildren[parent.Id] = settled;
        return n;
    }

    private void ExecuteSuspend(NodeStatus node, Template tmpl, VariableScope scope)
    {
        if (tmpl.Suspend?.Duration is not { } d) return; // waits for `egw resume`
        var text = scope.Render(d);
        if (!Durations.TryParse(text, out var duration))
        {
            Complete(node, NodePhase.Error, $"suspend.duration '{text}' is not a duration");
            return;
        }
        var until = node.StartedAt!.Value + duration;
        if (_now >= until)
        {
            Complete(node, NodePhase.Succeeded);
            node.Outputs = ResolveOutputs(tmpl, scope);
        }
        else Wake(until);
    }
}
