using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// <c>spec.templateDefaults</c> merged into a template as Argo merges it (a strategic merge patch of the template
/// onto the defaults): what the template sets wins, objects merge field by field, lists are the template's, except
/// a container's <c>env</c> (by name) and <c>volumeMounts</c> (by mountPath), which Kubernetes merges by key.
/// The defaults of another kind of template (a <c>container</c> default on a steps template) do not apply.
/// </summary>
public static class TemplateDefaults
{
    private static readonly string[] Kinds = ["container", "script", "steps", "dag", "suspend", "resource", "http", "containerSet", "data", "plugin"];

    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["env"] = "name",
        ["volumeMounts"] = "mountPath",
    };

    public static Template Apply(Template defaults, Template template)
    {
        var merged = JsonSerializer.SerializeToNode(defaults, Json.Options)!.AsObject();
        var own = JsonSerializer.SerializeToNode(template, Json.Options)!.AsObject();
        foreach (var kind in Kinds)
            if (!own.ContainsKey(kind)) merged.Remove(kind);
        Merge(merged, own);
        return merged.Deserialize<Template>(Json.Lenient)!;
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToList())
        {
            patch.Remove(key);
            if (value is JsonObject po && target[key] is JsonObject to) Merge(to, po);
            else if (value is JsonArray pa && target[key] is JsonArray ta && MergeKeys.TryGetValue(key, out var mergeKey)) target[key] = MergeList(ta, pa, mergeKey);
            else target[key] = value;
        }
    }

    private static JsonArray MergeList(JsonArray defaults, JsonArray own, string key)
    {
        var keys = own.Select(e => e?[key]?.ToString()).ToHashSet(StringComparer.Ordinal);
        var result = new JsonArray();
        foreach (var e in own.ToList())
        {
            own.Remove(e);
            result.Add(e);
        }
        foreach (var e in defaults.ToList())
        {
            if (keys.Contains(e?[key]?.ToString())) continue;
            defaults.Remove(e);
            result.Add(e);
        }
        return result;
    }
}
