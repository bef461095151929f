using EventGateway.Languages.Expr;
using EventGateway.Model;
using EventGateway.Workflows.Controls;
using EventGateway.Workflows.Submission;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// Lifecycle hooks and exit handlers, as Argo runs them. A named hook fires once, the first pass its expression
/// holds, and is then carried to its end whatever the expression says later; its outcome never changes the phase
/// of its step or workflow. An exit hook (<c>onExit</c> or <c>hooks.exit</c>) runs after its step or workflow
/// has completed; only the workflow's own exit handler can turn a success into a failure. Under a shutdown no
/// named hook starts; under Terminate no exit hook starts either.
/// </summary>
public sealed partial class WorkflowOperator
{
    // Calls whose hooks, exit hook included, are all done: a pass need not look at them again.
    private readonly HashSet<string> _hooksSettled = new(StringComparer.Ordinal);
    private bool? _templatesHaveHooks;

    /// <summary>Whether a finished call still has hook work to do (a fast no for calls without hooks).</summary>
    private bool HooksSettled(TemplateCall call, string nodeName)
    {
        _templatesHaveHooks ??= (Spec.Templates ?? []).Concat(Status.StoredTemplates?.Values.AsEnumerable() ?? []).Any(t => t.Hooks is { Count: > 0 });
        var hasHooks = call.OnExit is { Length: > 0 } || call.Hooks is { Count: > 0 } || call.Inline?.Hooks is { Count: > 0 } || _templatesHaveHooks == true;
        return !hasHooks || _hooksSettled.Contains(nodeName);
    }

    /// <summary>
    /// Drives the hooks of a step's or task's node: named hooks fire once their expression holds (over the
    /// caller's scope with <c>steps.NAME.*</c> / <c>tasks.NAME.*</c> of this node), then, once the node has
    /// completed, its exit hook. Hook nodes hang under the steps or DAG node that holds the call (never under a
    /// group or retry node, whose children are counted). A call that never ran (skipped, omitted) has no hooks.
    /// Returns whether nothing is left to wait for.
    /// </summary>
    private bool RunCallHooks(TemplateCall call, Template target, NodeStatus node, NodeStatus boundary, VariableScope scope)
    {
        var hooks = HooksOf(call, target);
        var exit = call.OnExit is { Length: > 0 } onExit ? new LifecycleHook { Template = onExit } : hooks?.GetValueOrDefault(LifecycleHook.Exit);
        if (node.Type == NodeType.Skipped || (hooks is null && exit is null))
        {
            if (node.Fulfilled) _hooksSettled.Add(node.Name);
            return true;
        }

        var hookScope = new VariableScope(scope);
        AddCallOutputs(hookScope, $"{(boundary.Type == NodeType.Steps ? "steps" : "tasks")}.{call.Name}", node, isLoop: false);
        var done = true;
        foreach (var (name, hook) in hooks ?? [])
        {
            if (name == LifecycleHook.Exit) continue;
            var hookNode = AdvanceHook($"{node.Name}.hooks.{name}", $"{node.DisplayName}.hooks.{name}", name, hook, node, boundary.Id, hookScope, _globals, out var pending);
            if (hookNode is not null) AddChild(boundary, hookNode);
            done &= !pending;
        }
        if (!node.Fulfilled || !done) return false;

        if (exit is not null && !RunCallExitHook(exit, node, boundary, hookScope)) return false;
        _hooksSettled.Add(node.Name);
        return true;
    }

    /// <summary>The hooks (as the seed writes them) on the called template apply to each call; the call's own win by name.</summary>
    private static Dictionary<string, LifecycleHook>? HooksOf(TemplateCall call, Template target)
    {
        if (target.Hooks is null || call.Hooks is null) return call.Hooks ?? target.Hooks;
        var merged = new Dictionary<string, LifecycleHook>(target.Hooks, StringComparer.Ordinal);
        foreach (var (name, hook) in call.Hooks) merged[name] = hook;
        return merged;
    }

    /// <summary>
    /// The exit hook of a completed call, unless its expression says no or the workflow is terminated.
    /// Returns false while it runs, or while a parallelism limit keeps it from starting.
    /// </summary>
    private bool RunCallExitHook(LifecycleHook exit, NodeStatus node, NodeStatus boundary, VariableScope scope)
    {
        var (name, displayName) = ($"{node.Name}.onExit", $"{node.DisplayName}.onExit");
        if (!_byName.ContainsKey(name))
        {
            if (_wf.Spec.Shutdown == WorkflowControls.ShutdownTerminate) return true;
            if (exit.Expression is { Length: > 0 } expr)
            {
                var (fires, error) = Holds(LifecycleHook.Exit, expr, scope);
                if (error is not null) AddChild(boundary, CreateNode(name, displayName, NodeType.Skipped, boundary.Id, null, NodePhase.Error, error));
                if (!fires) return true;
            }
        }
        var exitNode = RunExitHandler(name, displayName, exit, node, boundary.Id, scope);
        if (exitNode is null) return false;
        AddChild(boundary, exitNode);
        return exitNode.Fulfilled;
    }

    /// <summary>
    /// spec.hooks other than exit: each fires once its expression holds over the workflow's variables, where
    /// <c>workflow.status</c> follows the entrypoint's node. The workflow waits for fired hooks before it ends.
    /// </summary>
    private bool RunWorkflowHooks(NodeStatus root)
    {
        if (Spec.Hooks is not { Count: > 0 } hooks) return true;
        var scope = ExitScope(root, _globals);
        var done = true;
        foreach (var (name, hook) in hooks)
        {
            if (name == LifecycleHook.Exit) continue;
            var nodeName = $"{WfName}.hooks.{name}";
            AdvanceHook(nodeName, nodeName, name, hook, root, null, scope, scope, out var pending);
            done &= !pending;
        }
        return done;
    }

    /// <summary>The exit handler of a workflow: spec.onExit, else spec.hooks.exit (Argo's order).</summary>
    private LifecycleHook? WorkflowExitHook() =>
        Spec.OnExit is { Length: > 0 } onExit ? new LifecycleHook { Template = onExit } : Spec.Hooks?.GetValueOrDefault(LifecycleHook.Exit);

    /// <summary>Fires a named hook when it is due and carries a fired one on; null while it has not fired.</summary>
    private NodeStatus? AdvanceHook(string nodeName, string displayName, string hookName, LifecycleHook hook, NodeStatus subject, string? boundaryId, VariableScope scope, VariableScope globals, out bool pending)
    {
        pending = false;
        var node = _byName.GetValueOrDefault(nodeName);
        if (node is null)
        {
            // Nothing new starts once the workflow is being shut down; a hook is no exit handler.
            if (_wf.Spec.Shutdown is { Length: > 0 }) return null;
            var (fires, error) = hook.Expression is { Length: > 0 } expr ? Holds(hookName, expr, scope)
                // Argo requires an expression; `running` without one (as the seed writes it) fires once its node runs.
                : (hookName == LifecycleHook.Running && HasStarted(subject), null);
            if (error is not null) return CreateNode(nodeName, displayName, NodeType.Skipped, boundaryId, null, NodePhase.Error, error);
            if (!fires) return null;
        }
        node = RunHookNode(nodeName, displayName, hook, hook.Arguments, scope, boundaryId, globals);
        pending = node is not { Fulfilled: true };
        return node;
    }

    private static bool HasStarted(NodeStatus n) =>
        n.Phase == NodePhase.Running || (n.Type != NodeType.Skipped && n.Phase is NodePhase.Succeeded or NodePhase.Failed);

    private static (bool Holds, string? Error) Holds(string hookName, string expression, VariableScope scope)
    {
        try
        {
            return ArgoExpression.Evaluate(expression, scope.ExpressionEnv()) is bool b
                ? (b, null)
                : (false, $"hooks.{hookName}.expression '{expression}' did not evaluate to true or false");
        }
        catch (ExpressionException e)
        {
            return (false, $"hooks.{hookName}.expression '{expression}' could not be evaluated: {e.Message}");
        }
    }

    /// <summary>
    /// Runs an exit handler for the node <paramref name="of"/> it follows, with <c>workflow.status</c> and
    /// <c>workflow.failures</c> set from that node. Without arguments of its own it gets the workflow's (as Argo).
    /// </summary>
    private NodeStatus? RunExitHandler(string nodeName, string displayName, LifecycleHook hook, NodeStatus of, string? boundaryId, VariableScope callerScope)
    {
        var globals = ExitScope(of, _globals);
        return RunHookNode(nodeName, displayName, hook, hook.Arguments ?? Spec.Arguments, ExitScope(of, callerScope), boundaryId, globals);
    }

    private VariableScope ExitScope(NodeStatus of, VariableScope parent)
    {
        var scope = new VariableScope(parent);
        scope["workflow.status"] = of.Phase switch
        {
            NodePhase.Pending => WorkflowPhase.Pending,
            NodePhase.Running => WorkflowPhase.Running,
            NodePhase.Succeeded or NodePhase.Skipped or NodePhase.Omitted => WorkflowPhase.Succeeded,
            NodePhase.Error => WorkflowPhase.Error,
            _ => WorkflowPhase.Failed,
        };
        scope["workflow.failures"] = Failures();
        return scope;
    }

    /// <summary>
    /// Creates or continues the node that runs a hook's template. Arguments are rendered in
    /// <paramref name="argScope"/> when the node is created; the template itself sees only <paramref name="globals"/>.
    /// </summary>
    private NodeStatus? RunHookNode(string nodeName, string displayName, LifecycleHook hook, Arguments? args, VariableScope argScope, string? boundaryId, VariableScope globals)
    {
        var existing = _byName.GetValueOrDefault(nodeName);
        if (existing is { Fulfilled: true }) return existing;
        var tmpl = ResolveHook(hook, out var error);
        if (tmpl is null) return existing ?? CreateNode(nodeName, displayName, NodeType.Skipped, boundaryId, null, NodePhase.Error, error);
        if (existing is null)
        {
            (args, error) = RenderArguments(args, argScope);
            if (error is not null) return CreateNode(nodeName, displayName, NodeTypeOf(tmpl), boundaryId, tmpl, NodePhase.Error, error);
        }
        return Execute(nodeName, displayName, tmpl, existing is null ? args : ArgumentsFrom(existing.Inputs), boundaryId, globals);
    }

    /// <summary>A hook's template: local, frozen from a templateRef, or (a name with '/') frozen from a referenced template.</summary>
    private Template? ResolveHook(LifecycleHook hook, out string? error)
    {
        error = null;
        if (hook.TemplateRef is { } tr)
        {
            var key = TemplateRefs.Key(tr, _wf.NamespaceOrDefault);
            if (Status.StoredTemplates?.GetValueOrDefault(key) is { } stored) return WithDefaults(stored);
            error = $"templateRef {key} was not resolved at submission";
            return null;
        }
        var name = hook.Template ?? "";
        var t = FindTemplate(name) ?? (Status.StoredTemplates?.GetValueOrDefault(name) is { } storedByName ? WithDefaults(storedByName) : null);
        if (t is null) error = $"hook template '{name}' not found";
        return t;
    }
}
