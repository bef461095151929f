using EventGateway.Model;

namespace EventGateway.Workflows.Validation;

public sealed partial class WorkflowValidator
{
    /// <summary>
    /// A call through templateRef supplies the inputs its target requires. Checked at submission, once the targets
    /// are frozen (<paramref name="stored"/>, keyed by <paramref name="keyOf"/>), as Argo checks a workflow that refers
    /// to a WorkflowTemplate: the template itself may leave them open.
    /// </summary>
    public static void ValidateTemplateRefArguments(IEnumerable<(string At, Template Template)> templates, IReadOnlyDictionary<string, Template> stored,
        Func<TemplateRef, string> keyOf, Action<string, string> fail)
    {
        foreach (var (at, t) in templates)
        {
            for (var g = 0; g < (t.Steps?.Count ?? 0); g++)
                for (var i = 0; i < t.Steps![g].Count; i++)
                    Check(t.Steps[g][i], $"{at}.steps[{g}][{i}]");
            for (var i = 0; i < (t.Dag?.Tasks.Count ?? 0); i++)
                Check(t.Dag!.Tasks[i], $"{at}.dag.tasks[{i}]");
        }

        void Check(TemplateCall call, string at)
        {
            if (call.TemplateRef is { } tr && stored.TryGetValue(keyOf(tr), out var target))
                CheckRequiredInputs(target, call.Arguments, $"{at}.arguments", fail, argumentsMayBeLate: false);
        }
    }
}
