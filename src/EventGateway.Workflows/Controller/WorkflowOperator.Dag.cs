using EventGateway.Languages.Depends;
using EventGateway.Model;

namespace EventGateway.Workflows.Controller;

public sealed partial class WorkflowOperator
{
    /// <summary>
    /// Runs every task whose depends expression is satisfied; marks Omitted those whose expression can no
    /// longer be satisfied; with failFast (the default) starts nothing new after an unhandled failure.
    /// </summary>
    private void ExecuteDag(NodeStatus node, Template tmpl, VariableScope scope, VariableScope globals)
    {
        var dag = tmpl.Dag!;
        var (tasks, unknown) = Targets(dag, dag.Target is { } target ? scope.Render(target) : null);
        if (unknown is not null)
        {
            Complete(node, NodePhase.Error, $"dag.target: task '{unknown}' is not defined in template '{tmpl.Name}'");
            return;
        }
        var dagScope = new VariableScope(scope);
        var depends = tasks.ToDictionary(t => t.Name, t => Depends(t, dag.Tasks), StringComparer.Ordinal);
        var failFast = dag.FailFast ?? true;
        var added = new HashSet<string>(StringComparer.Ordinal);
        var active = tmpl.Parallelism is null ? 0 : CountActiveChildren(node);

        bool progressed;
        do
        {
            progressed = false;
            foreach (var task in tasks)
            {
                var name = $"{node.Name}.{task.Name}";
                var tn = _byName.GetValueOrDefault(name);
                if (tn is { Fulfilled: true })
                {
                    if (added.Add(task.Name)) AddCallOutputs(dagScope, $"tasks.{task.Name}", tn, task.IsLoop, task);
                    continue;
                }
                if (tn is null)
                {
                    if (depends[task.Name] is { } expr)
                    {
                        var ok = expr.Evaluate(dep => Outcome(node, dep));
                        if (ok is null) continue;
                        if (ok == false)
                        {
                            var omitted = CreateNode(name, task.Name, NodeType.Skipped, node.Id, null, NodePhase.Omitted, "omitted: depends condition not met");
                            AddChild(node, omitted);
                            progressed = true;
                            continue;
                        }
                    }
                    if (failFast && UnhandledFailure(node, tasks) is not null) continue;
                    if (tmpl.Parallelism is { } limit && active >= limit) continue;
                }
                var before = tn?.Phase;
                tn = task.IsLoop ? RunLoopTask(task, name, node, tmpl, dagScope, globals) : RunCall(task, new LoopChild(name, task.Name, null), node, node, dagScope, globals, out _, out _);
                if (tn is null) continue;
                if (before is null && !tn.Fulfilled) active++;
                if (tn.Fulfilled || before != tn.Phase) progressed = true;
                // Tasks later in this pass may depend on it: its outputs must be in scope now (a daemon's address too).
                if (Settled(tn) && added.Add(task.Name))
                {
                    AddCallOutputs(dagScope, $"tasks.{task.Name}", tn, task.IsLoop, task);
                    progressed = true;
                }
            }
        }
        while (progressed);

        // A finished task may still have hooks to run (its exit handler): the DAG waits for them.
        var hooksPending = false;
        foreach (var t in tasks)
            if (!t.IsLoop && _byName.GetValueOrDefault($"{node.Name}.{t.Name}") is { Fulfilled: true } done && !HooksSettled(t, done.Name))
            {
                RunCall(t, new LoopChild(done.Name, t.Name, null), node, node, dagScope, globals, out _, out var waits);
                hooksPending |= waits;
            }
        var pending = tasks.Any(t => _byName.GetValueOrDefault($"{node.Name}.{t.Name}") is not { } n || !Settled(n));
        var running = tasks.Any(t => _byName.GetValueOrDefault($"{node.Name}.{t.Name}") is { } n && !Settled(n));
        var failure = UnhandledFailure(node, tasks);
        if (running || hooksPending || (pending && !(failFast && failure is not null))) return;
        if (pending)
        {
            // failFast: tasks that never started will not start now.
            foreach (var t in tasks.Where(t => !_byName.ContainsKey($"{node.Name}.{t.Name}")))
                AddChild(node, CreateNode($"{node.Name}.{t.Name}", t.Name, NodeType.Skipped, node.Id, null, NodePhase.Omitted, "omitted: an earlier task failed (failFast)"));
        }
        if (failure is not null)
        {
            Complete(node, NodePhase.Failed, $"child '{failure.Id}' failed");
            return;
        }
        node.Outputs = ResolveOutputs(tmpl, dagScope);
        ExportGlobalOutputs(node.Outputs);
        Complete(node, NodePhase.Succeeded);
    }

    /// <summary>
    /// A task's depends expression. Legacy dependencies also accept a dependency's failure or error
    /// when that dependency says continueOn, as Argo's conversion does.
    /// </summary>
    private static DependsExpression? Depends(DagTask t, List<DagTask> all)
    {
        if (t.Depends is { Length: > 0 } d) return DependsExpression.Parse(d);
        if (t.Dependencies is not { Count: > 0 } deps) return null;
        var parts = deps.Select(dep =>
        {
            var c = all.FirstOrDefault(x => x.Name == dep)?.ContinueOn;
            if (c?.Failed != true && c?.Error != true) return DependsExpression.FromDependencies([dep]);
            var alternatives = new List<string> { $"{dep}.Succeeded", $"{dep}.Skipped", $"{dep}.Daemoned" };
            if (c.Failed == true) alternatives.Add($"{dep}.Failed");
            if (c.Error == true) alternatives.Add($"{dep}.Errored");
            return "(" + string.Join(" || ", alternatives) + ")";
        });
        return DependsExpression.Parse(string.Join(" && ", parts));
    }

    /// <summary>
    /// With a target (rendered: it may be a parameter), only the named tasks and what they depend on run;
    /// a name that is no task is returned as <c>Unknown</c>.
    /// </summary>
    private static (List<DagTask> Tasks, string? Unknown) Targets(DagTemplate dag, string? target)
    {
        if (target is not { Length: > 0 }) return (dag.Tasks, null);
        var byName = dag.Tasks.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var names = target.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (names.FirstOrDefault(n => !byName.ContainsKey(n)) is { } unknown) return ([], unknown);
        var keep = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>(names);
        while (stack.TryPop(out var n))
            if (keep.Add(n) && byName.TryGetValue(n, out var t) && Depends(t, dag.Tasks) is { } d)
                foreach (var dep in d.TaskNames) stack.Push(dep);
        return (dag.Tasks.Where(t => keep.Contains(t.Name)).ToList(), null);
    }

    private TaskOutcome Outcome(NodeStatus dagNode, string task)
    {
        var n = _byName.GetValueOrDefault($"{dagNode.Name}.{task}");
        if (n is null) return new TaskOutcome(false, null, false, []);
        var isGroup = n.Type == NodeType.TaskGroup;
        var children = isGroup ? (n.Children ?? []).Select(id => Status.Nodes!.GetValueOrDefault(id)?.Phase ?? NodePhase.Pending).ToList() : [];
        return new TaskOutcome(Settled(n), n.Phase, isGroup, children);
    }

    /// <summary>A failed task is handled when continueOn covers it or a dependent asks for its failure explicitly.</summary>
    private NodeStatus? UnhandledFailure(NodeStatus dagNode, List<DagTask> tasks)
    {
        foreach (var t in tasks)
        {
            var n = _byName.GetValueOrDefault($"{dagNode.Name}.{t.Name}");
            if (n is null || !NodePhase.IsFailedOrError(n.Phase) || ContinuesOn(t, n)) continue;
            var handled = tasks.Any(o => o.Depends is { } d && HandlesFailure(d, t.Name));
            if (!handled) return n;
        }
        return null;
    }

    private static bool HandlesFailure(string depends, string task)
    {
        foreach (var suffix in (string[])[".Failed", ".Errored", ".AnySucceeded", ".AllFailed", ".Completed"])
        {
            var i = depends.IndexOf(task + suffix, StringComparison.Ordinal);
            if (i >= 0 && (i == 0 || !(char.IsAsciiLetterOrDigit(depends[i - 1]) || depends[i - 1] is '-' or '_'))) return true;
        }
        return false;
    }

    /// <summary>A looping task becomes a TaskGroup node whose children are the expanded items.</summary>
    private NodeStatus? RunLoopTask(DagTask task, string name, NodeStatus dagNode, Template tmpl, VariableScope scope, VariableScope globals)
    {
        var group = _byName.GetValueOrDefault(name);
        if (group is null)
        {
            // A condition on the item ({{item.x}} == y) is decided per item, as Argo does after expanding the loop.
            if (task.When is { } when && !WhenUsesItem(when) && !EvaluateWhen(when, scope, out var whenError))
            {
                var skipped = CreateNode(name, task.Name, NodeType.Skipped, dagNode.Id, null, whenError is null ? NodePhase.Skipped : NodePhase.Error,
                    whenError ?? $"when '{scope.Render(when)}' evaluated false");
                AddChild(dagNode, skipped);
                return skipped;
            }
            group = CreateNode(name, task.Name, NodeType.TaskGroup, dagNode.Id, null);
            AddChild(dagNode, group);
        }
        var (children, error) = ExpandOnce(task, name, scope);
        if (children is null)
        {
            Complete(group, NodePhase.Error, error);
            return group;
        }
        if (children.Count == 0)
        {
            Complete(group, NodePhase.Skipped, "Skipped, empty params");
            return group;
        }
        var allDone = true;
        NodeStatus? failed = null;
        var active = tmpl.Parallelism is null ? 0 : CountActiveDescendantPods(dagNode);
        var loopCall = new DagTask { Name = task.Name, Template = task.Template, TemplateRef = task.TemplateRef, Inline = task.Inline, Arguments = task.Arguments, When = WhenUsesItem(task.When) ? task.When : null, ContinueOn = task.ContinueOn, OnExit = task.OnExit, Hooks = task.Hooks, WithItems = task.WithItems, WithParam = task.WithParam, WithSequence = task.WithSequence };
        foreach (var c in children)
        {
            var node = _byName.GetValueOrDefault(c.Name);
            if (node is null && tmpl.Parallelism is { } limit && active >= limit) { allDone = false; continue; }
            var hooksPending = false;
            if (node is not { Fulfilled: true } || !HooksSettled(loopCall, c.Name))
            {
                var wasNew = node is null;
                node = RunCall(loopCall, c, group, dagNode, scope, globals, out _, out hooksPending);
                if (node is null) { allDone = false; continue; }
                if (wasNew && !Settled(node)) active++;
            }
            if (!Settled(node) || hooksPending) allDone = false;
            else if (NodePhase.IsFailedOrError(node.Phase) && !ContinuesOn(task, node)) failed ??= node;
        }
        if (allDone) Complete(group, failed is null ? NodePhase.Succeeded : NodePhase.Failed, failed is null ? null : $"child '{failed.Id}' failed");
        return group;
    }

    private static bool WhenUsesItem(string? when) => when is not null && ItemReference().IsMatch(when);

    [System.Text.RegularExpressions.GeneratedRegex(@"\{\{\s*item\b|\{\{=[^}]*\bitem\b")]
    private static partial System.Text.RegularExpressions.Regex ItemReference();

    private int CountActiveDescendantPods(NodeStatus dagNode)
    {
        var n = 0;
        foreach (var id in dagNode.Children ?? [])
            if (Status.Nodes!.GetValueOrDefault(id) is { } c)
                n += c.Type == NodeType.TaskGroup ? CountActiveChildren(c) : c.Fulfilled ? 0 : 1;
        return n;
    }
}
