using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Events.Sensors.Parameters;
using EventGateway.Model;
using EventGateway.Model.Manifests;

namespace EventGateway.Events.Sensors.Triggers;

/// <summary>
/// The object an argoWorkflow or k8s trigger acts on: <c>source.resource</c> (inline object), <c>source.inline</c>
/// (YAML/JSON text), <c>source.configmap</c> (a key of a ConfigMap in the Sensor's namespace) or <c>source.file</c>
/// (a path on this machine), with the kind's <c>parameters</c> applied to it.
/// </summary>
public static class TriggerSource
{
    public static readonly string[] Supported = ["resource", "inline", "configmap", "file"];

    public static async Task<JsonObject> LoadAsync(JsonObject kind, TriggerFiring firing, TriggerContext context, CancellationToken ct)
    {
        var source = kind["source"] as JsonObject ?? throw new TriggerException("source: missing: the resource to act on", retryable: false);
        JsonNode? resource;
        if (source["resource"] is JsonObject r) resource = r.DeepClone();
        else if (source["inline"]?.GetValue<string>() is { } text) resource = FromText(text, "source.inline");
        else if (source["configmap"] is JsonObject cm)
        {
            var name = cm["name"]?.GetValue<string>();
            var key = cm["key"]?.GetValue<string>();
            var map = await context.Store.GetAsync<ConfigMap>(firing.Namespace, name ?? "", ct).ConfigureAwait(false)
                ?? throw new TriggerException($"source.configmap: ConfigMap '{name}' not found in namespace '{firing.Namespace}'");
            var value = map.Data?.GetValueOrDefault(key ?? "") ?? throw new TriggerException($"source.configmap: ConfigMap '{name}' has no key '{key}'", retryable: false);
            resource = FromText(value, $"ConfigMap {name}/{key}");
        }
        else if (source["file"]?["path"]?.GetValue<string>() is { } path)
        {
            if (!File.Exists(path)) throw new TriggerException($"source.file.path: '{path}' does not exist", retryable: false);
            resource = FromText(await File.ReadAllTextAsync(path, ct).ConfigureAwait(false), path);
        }
        else throw new TriggerException($"source: none of {string.Join(", ", Supported)} is set", retryable: false);

        if (resource is not JsonObject obj) throw new TriggerException("source: the resource is not an object", retryable: false);
        if (kind["parameters"] is JsonArray { Count: > 0 } ps)
        {
            var parameters = ps.Deserialize<List<TriggerParameter>>(Json.Lenient) ?? [];
            try
            {
                obj = (JsonObject)ParameterResolver.Apply(obj, parameters, firing.Events);
            }
            catch (ParameterException e)
            {
                throw new TriggerException($"parameters: {e.Message}", retryable: false, e);
            }
        }
        return obj;
    }

    private static JsonNode FromText(string text, string where)
    {
        try
        {
            var docs = YamlToJson.Convert(text);
            if (docs.Count != 1) throw new TriggerException($"{where}: expected one document, found {docs.Count}", retryable: false);
            return JsonNode.Parse(docs[0].Json) ?? throw new TriggerException($"{where}: empty document", retryable: false);
        }
        catch (Exception e) when (e is not TriggerException)
        {
            throw new TriggerException($"{where}: not a YAML or JSON object: {e.Message}", retryable: false, e);
        }
    }
}
