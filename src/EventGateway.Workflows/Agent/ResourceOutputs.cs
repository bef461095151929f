using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Languages;
using EventGateway.Languages.Expr;
using EventGateway.Languages.Jq;
using EventGateway.Languages.Json;
using EventGateway.Model;

namespace EventGateway.Workflows.Agent;

/// <summary>
/// A resource template's output parameters, read from the object it acted on: <c>valueFrom.jsonPath</c>
/// (kubectl's <c>{.metadata.name}</c> form or <c>$.metadata.name</c>) and <c>valueFrom.jqFilter</c> (printed as
/// <c>jq -rc</c> would: strings raw, other values compact JSON, one per line). A missing value falls back to
/// <c>valueFrom.default</c>, else fails the node.
/// </summary>
public static class ResourceOutputs
{
    public static (List<Parameter>? Parameters, string? Error) Read(Template tmpl, JsonElement? obj)
    {
        List<Parameter>? result = null;
        foreach (var p in tmpl.Outputs?.Parameters ?? [])
        {
            var (value, error) = obj is { } o ? ReadOne(p, o) : (null, null);
            value ??= p.ValueFrom?.Default ?? p.Value;
            if (value is null && error is null && (p.ValueFrom?.JsonPath ?? p.ValueFrom?.JqFilter) is { } query && obj is not null)
                error = $"'{query}' found nothing";
            if (error is not null && p.ValueFrom?.Default is null)
                return (null, $"failed to save outputs: parameter '{p.Name}': {error}");
            (result ??= []).Add(new Parameter { Name = p.Name, Value = value, GlobalName = p.GlobalName });
        }
        return (result, null);
    }

    private static (string? Value, string? Error) ReadOne(Parameter p, JsonElement obj)
    {
        try
        {
            if (p.ValueFrom?.JsonPath is { } jsonPath)
            {
                var value = JsonPath.Query(obj.GetRawText(), ToDollarPath(jsonPath));
                return (value is null ? null : ArgoExpression.Stringify(value), null);
            }
            if (p.ValueFrom?.JqFilter is { } filter)
            {
                var outputs = JqProgram.Parse(filter).Run(JsonNode.Parse(obj.GetRawText()));
                var lines = outputs.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : n?.ToJsonString() ?? "null");
                return outputs.Count == 0 ? (null, null) : (string.Join('\n', lines), null);
            }
        }
        catch (Exception e) when (e is ExpressionException or TransformException)
        {
            return (null, e.Message);
        }
        return (null, null);
    }

    /// <summary>kubectl writes JSONPath as {.a.b}; our evaluator wants $.a.b.</summary>
    private static string ToDollarPath(string path)
    {
        var p = path.Trim();
        if (p.StartsWith('{') && p.EndsWith('}')) p = p[1..^1].Trim();
        return p.StartsWith('$') ? p : p.StartsWith('.') || p.StartsWith('[') ? "$" + p : "$." + p;
    }
}
