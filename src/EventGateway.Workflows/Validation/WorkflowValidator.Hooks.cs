using EventGateway.Languages.Expr;
using EventGateway.Model;

namespace EventGateway.Workflows.Validation;

public sealed partial class WorkflowValidator
{
    /// <summary>
    /// Lifecycle hooks on a workflow, a step, a task or a template: each names one existing template; every hook
    /// but exit and running (which without an expression fires once its step or workflow runs) needs an
    /// expression, and an expression must parse. onExit beside hooks.exit is refused rather than silently
    /// ignoring one of them, as is a condition on the workflow's exit handler, which Argo never evaluates.
    /// </summary>
    private static void ValidateHooks(Dictionary<string, LifecycleHook>? hooks, string? onExit, string at, Dictionary<string, Template> byName, bool workflowLevel, Action<string, string> fail)
    {
        foreach (var (name, hook) in hooks ?? [])
        {
            var hat = $"{at}.hooks.{name}";
            switch ((hook.Template is null ? 0 : 1) + (hook.TemplateRef is null ? 0 : 1))
            {
                case 0: fail($"{hat}.template", $"missing: hook '{name}' must name a template or templateRef"); break;
                case > 1: fail($"{hat}.template", $"hook '{name}' sets both template and templateRef"); break;
            }
            if (hook.Template is { } t && !t.Contains("{{", StringComparison.Ordinal) && !byName.ContainsKey(t))
                fail($"{hat}.template", $"template '{t}' is not defined");
            if (hook.TemplateRef is { } tr && (string.IsNullOrEmpty(tr.Name) || string.IsNullOrEmpty(tr.Template)))
                fail($"{hat}.templateRef", "templateRef needs both name and template");
            if (name == LifecycleHook.Exit)
            {
                if (onExit is { Length: > 0 }) fail(hat, "set either onExit or hooks.exit, not both");
                if (workflowLevel && hook.Expression is { Length: > 0 })
                    fail($"{hat}.expression", "the workflow's exit handler always runs: put the condition in its template, e.g. a step with when: \"{{workflow.status}} != Succeeded\"");
            }
            else if (hook.Expression is not { Length: > 0 } && name != LifecycleHook.Running)
                fail($"{hat}.expression", $"missing: hook '{name}' fires when its expression becomes true; only exit and running may go without one");
            if (hook.Expression is { Length: > 0 } expr && !expr.Contains("{{", StringComparison.Ordinal))
            {
                try { ArgoExpression.Check(expr); }
                catch (ExpressionException e) { fail($"{hat}.expression", $"cannot parse '{expr}': {e.Message}"); }
            }
            ValidateParameters(hook.Arguments?.Parameters, $"{hat}.arguments.parameters", fail);
        }
    }
}
