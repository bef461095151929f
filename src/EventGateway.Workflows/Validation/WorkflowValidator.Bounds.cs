using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Validation;

public sealed partial class WorkflowValidator
{
    /// <summary>
    /// Loops whose size is written in the manifest (a withItems list, a literal withSequence) and exceed the service's
    /// cap: refused at submit, with the field path. Templated sizes are checked when the loop expands.
    /// </summary>
    public static void ValidateBounds(IEnumerable<Template> templates, string at, WorkflowLimits limits, Action<string, string> fail)
    {
        var i = 0;
        foreach (var t in templates)
        {
            var here = $"{at}[{i++}]";
            for (var g = 0; g < (t.Steps?.Count ?? 0); g++)
                for (var s = 0; s < t.Steps![g].Count; s++)
                    ValidateLoopSize(t.Steps[g][s], $"{here}.steps[{g}][{s}]", limits, fail);
            for (var d = 0; d < (t.Dag?.Tasks.Count ?? 0); d++)
                ValidateLoopSize(t.Dag!.Tasks[d], $"{here}.dag.tasks[{d}]", limits, fail);
        }
    }

    private static void ValidateLoopSize(TemplateCall call, string at, WorkflowLimits limits, Action<string, string> fail)
    {
        if (call.WithItems is { Count: var n } && n > limits.MaxLoopItems)
            fail($"{at}.withItems", $"{n} items exceed the limit of {limits.MaxLoopItems} loop items (--max-loop-items)");
        if (call.WithSequence is { } seq && LoopSequence.MeasureLiteral(seq) is { } literal)
        {
            var (measured, error) = literal;
            if (error is not null) fail($"{at}.withSequence", error);
            else if (measured!.Value.Length > limits.MaxLoopItems)
                fail($"{at}.withSequence", $"{measured.Value.Length} items exceed the limit of {limits.MaxLoopItems} loop items (--max-loop-items)");
        }
    }
}

public sealed partial class WorkflowValidator
{
    /// <summary>
    /// Resource templates whose manifest names another namespace (or changes a cluster-scoped object): refused at submit,
    /// when the workflow's namespace is known. A templated namespace is checked again when the step runs.
    /// </summary>
    public static void ValidateNamespaceWalls(IEnumerable<Template> templates, string at, string workflowNamespace, Action<string, string> fail)
    {
        var i = 0;
        foreach (var t in templates)
        {
            var here = $"{at}[{i++}]";
            if (t.Resource is not { Manifest: { } text } r) continue;
            System.Text.Json.Nodes.JsonObject? manifest;
            try { manifest = YamlToJson.Convert(text) is [var doc] ? System.Text.Json.Nodes.JsonNode.Parse(doc.Json) as System.Text.Json.Nodes.JsonObject : null; }
            catch (YamlToJson.SyntaxError) { continue; } // reported by the spec checks
            if (manifest?["kind"]?.ToString() is not { } kind) continue;
            var ns = manifest["metadata"]?["namespace"]?.ToString();
            if (ns?.Contains("{{", StringComparison.Ordinal) == true) continue;
            if (Agent.ResourceTemplateRunner.NamespaceWall(kind, ns, r.Action, workflowNamespace) is { } refused)
                fail($"{here}.resource.manifest", refused);
        }
    }
}
