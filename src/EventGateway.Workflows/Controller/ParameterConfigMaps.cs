using System.Text.Json.Nodes;
using EventGateway.Model;
using EventGateway.Model.Manifests;
using EventGateway.Workflows.Memoization;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// Parameters with <c>valueFrom.configMapKeyRef</c> (workflow arguments, template inputs, call arguments): which
/// ConfigMaps a workflow names, read from the store before each pass (the operator does no I/O), and Argo's rules
/// for taking a value from them: only ConfigMaps labelled <c>workflows.argoproj.io/configmap-type: Parameter</c>,
/// in the workflow's namespace.
/// </summary>
public sealed class ParameterConfigMaps(IResourceStore store)
{
    public const string ParameterType = "Parameter";

    public static readonly IReadOnlyDictionary<string, ConfigMap> None = new Dictionary<string, ConfigMap>(StringComparer.Ordinal);

    /// <summary>
    /// The names (possibly {{templated}}) of the ConfigMaps the workflow's parameters take values from: those under a
    /// <c>parameters[].valueFrom</c> anywhere in its spec and frozen templates (not env, not semaphores).
    /// </summary>
    public static IReadOnlyList<string> Referenced(Workflow wf)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        void Walk(JsonNode? node, bool inParameters)
        {
            switch (node)
            {
                case JsonObject o:
                    if (inParameters && o["valueFrom"]?["configMapKeyRef"]?["name"] is JsonValue v && v.TryGetValue<string>(out var name))
                        names.Add(name);
                    foreach (var (k, child) in o) Walk(child, k == "parameters");
                    break;
                case JsonArray a:
                    foreach (var child in a) Walk(child, inParameters);
                    break;
            }
        }
        Walk(System.Text.Json.JsonSerializer.SerializeToNode(wf.Status?.StoredWorkflowTemplateSpec ?? wf.Spec, Json.Options), false);
        if (wf.Status?.StoredTemplates is { Count: > 0 } stored) Walk(System.Text.Json.JsonSerializer.SerializeToNode(stored, Json.Options), false);
        return [.. names];
    }

    /// <summary>The named ConfigMaps of <paramref name="namespace"/> that exist; a templated name needs them all.</summary>
    public async Task<IReadOnlyDictionary<string, ConfigMap>> ReadAsync(string @namespace, IReadOnlyList<string> names, CancellationToken ct)
    {
        var found = new Dictionary<string, ConfigMap>(StringComparer.Ordinal);
        if (names.Any(n => n.Contains("{{", StringComparison.Ordinal)))
        {
            foreach (var cm in await store.ListAsync<ConfigMap>(@namespace, ct).ConfigureAwait(false)) found[cm.Name] = cm;
            return found;
        }
        foreach (var name in names)
            if (await store.GetAsync<ConfigMap>(@namespace, name, ct).ConfigureAwait(false) is { } cm) found[name] = cm;
        return found;
    }

    /// <summary>
    /// The value under <paramref name="key"/>, or Argo's reason why not; <c>NotFound</c> says whether a
    /// <c>valueFrom.default</c> may stand in (a missing ConfigMap or key, not a wrongly labelled one).
    /// </summary>
    public static (string? Value, string? Error, bool NotFound) Value(IReadOnlyDictionary<string, ConfigMap> maps, string name, string key)
    {
        // Argo's controller only sees ConfigMaps that carry the type label at all.
        if (!maps.TryGetValue(name, out var cm) || cm.Metadata.Labels?.ContainsKey(MemoCache.TypeLabel) != true)
            return (null, $"ConfigMap '{name}' does not exist. Please make sure it has the label {MemoCache.TypeLabel}: {ParameterType} to be detectable by the controller", true);
        if (cm.Metadata.Labels[MemoCache.TypeLabel] != ParameterType)
            return (null, $"ConfigMap '{name}' needs to have the label {MemoCache.TypeLabel}: {ParameterType} to load parameters", false);
        return cm.Data?.GetValueOrDefault(key) is { } value
            ? (value, null, false)
            : (null, $"ConfigMap '{name}' does not have the key '{key}'", true);
    }
}
