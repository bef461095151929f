using EventGateway.Languages.Expr;

namespace EventGateway.Workflows.Controller;

public sealed partial class WorkflowOperator
{
    /// <summary>
    /// spec.workflowMetadata, once as the workflow starts: its labels and annotations go onto the Workflow object, then
    /// each labelsFrom expression is evaluated over the globals (so it can read the parameters) into a label, as
    /// Argo does. Returns why a label could not be set; the workflow then ends in Error.
    /// </summary>
    private string? ApplyWorkflowMetadata()
    {
        if (Spec.WorkflowMetadata is not { } md) return null;
        var meta = _wf.Metadata;
        foreach (var (k, v) in md.Labels ?? []) (meta.Labels ??= [])[k] = v;
        foreach (var (k, v) in md.Annotations ?? []) (meta.Annotations ??= [])[k] = v;
        if (md.LabelsFrom is not { Count: > 0 } from) return null;
        var env = BuildGlobals().ExpressionEnv();
        foreach (var (name, source) in from)
        {
            object? value;
            try { value = ArgoExpression.Evaluate(source.Expression, env); }
            catch (ExpressionException e) { return $"failed to evaluate label \"{name}\" expression \"{source.Expression}\": {e.Message}"; }
            if (value is not string label)
                return $"failed to evaluate label \"{name}\" expression \"{source.Expression}\" evaluated to {value?.GetType().Name ?? "nil"} but must be a string";
            (meta.Labels ??= [])[name] = label;
        }
        return null;
    }
}
