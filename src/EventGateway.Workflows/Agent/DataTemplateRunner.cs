using System.Text.Json;
using EventGateway.Languages.Expr;
using EventGateway.Model;
using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Controller;

namespace EventGateway.Workflows.Agent;

/// <summary>
/// Argo's <c>data</c> template, made by the controller (no process runs, as for http templates): the source's keys
/// (<c>artifactPaths</c>: every object under an S3 location, the workflow's repository filling in what the artifact
/// leaves out) are the list <c>data</c>, each <c>transformation</c> expression (expr, e.g. <c>filter(data, {# endsWith
/// "main.log"})</c>) replaces it with its result, and the last one, as JSON, is <c>outputs.result</c>. An unreadable
/// source or a failing expression errors the node with the reason.
/// </summary>
public sealed class DataTemplateRunner(ArtifactStorage storage, TimeProvider time) : ITemplateRunner
{
    /// <summary>Keys a source may list: as many as a loop may take items (--max-loop-items' default).</summary>
    public const int MaxKeys = 10_000;

    public TemplateType Type => TemplateType.Data;

    public async Task<PodResult> RunAsync(Workflow wf, PodRequest pod, CancellationToken ct)
    {
        var started = time.GetUtcNow();
        PodResult End(string phase, string? message, Outputs? outputs = null) => new(pod.NodeId, phase, message, null, outputs, started, time.GetUtcNow());

        var template = pod.Template.Data!;
        if (template.Source.ArtifactPaths is not { } source)
            return End(NodePhase.Error, "unable to process data source: artifactPaths is the only data source");
        object? data;
        try
        {
            data = (await storage.ListAsync(wf, source, MaxKeys, ct).ConfigureAwait(false)).Cast<object?>().ToList();
        }
        catch (ArtifactException e)
        {
            return End(NodePhase.Error, $"unable to source artifact paths: {e.Message}");
        }
        var steps = template.Transformation ?? [];
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i].Expression is not { Length: > 0 } expression) continue;
            try
            {
                data = ArgoExpression.Evaluate(expression, new Dictionary<string, object?>(StringComparer.Ordinal) { ["data"] = data });
            }
            catch (ExpressionException e)
            {
                return End(NodePhase.Error, $"unable to process data transformation: error processing data step {i}: {e.Message}");
            }
        }
        // Go's json.Marshal of the result: strings quoted, nil as null, lists and maps as compact JSON.
        var result = data switch
        {
            null => "null",
            string s => JsonSerializer.Serialize(s),
            _ => ArgoExpression.Stringify(data),
        };
        return End(NodePhase.Succeeded, null, new Outputs { Result = result });
    }
}
