using System.Text.Json.Nodes;

namespace EventGateway.Tests.Support.Kubernetes;

/// <summary>
/// The two patch formats the API server takes for every kind: JSON merge patch (RFC 7386, null removes a key,
/// objects merge, anything else replaces) and JSON patch (RFC 6902: add, remove, replace, move, copy, test with
/// JSON pointers). A patch that cannot apply throws <see cref="InvalidOperationException"/> with the operation.
/// </summary>
public static class JsonPatches
{
    public static JsonNode? Merge(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject p) return patch?.DeepClone();
        var result = target as JsonObject is { } t ? (JsonObject)t.DeepClone() : new JsonObject();
        foreach (var (key, value) in p)
        {
            if (value is null) result.Remove(key);
            else result[key] = Merge(result[key], value);
        }
        return result;
    }

    public static JsonNode? Apply(JsonNode? document, JsonArray operations)
    {
        var doc = document?.DeepClone();
        foreach (var op in operations)
        {
            if (op is not JsonObject o || o["op"]?.GetValue<string>() is not { } name || o["path"]?.GetValue<string>() is not { } path)
                throw new InvalidOperationException($"json patch operation {op?.ToJsonString()} needs \"op\" and \"path\"");
            switch (name)
            {
                case "add": doc = Add(doc, path, Value(o)); break;
                case "remove": doc = Remove(doc, path, out _); break;
                case "replace":
                    doc = Remove(doc, path, out _);
                    doc = Add(doc, path, Value(o));
                    break;
                case "move":
                    doc = Remove(doc, From(o), out var moved);
                    doc = Add(doc, path, moved);
                    break;
                case "copy": doc = Add(doc, path, Get(doc, From(o))?.DeepClone()); break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(doc, path), o["value"]))
                        throw new InvalidOperationException($"json patch test at {path} failed: the value is {Get(doc, path)?.ToJsonString() ?? "null"}");
                    break;
                default: throw new InvalidOperationException($"json patch op \"{name}\" is not one of add, remove, replace, move, copy, test");
            }
        }
        return doc;
    }

    private static JsonNode? Value(JsonObject o) =>
        o.ContainsKey("value") ? o["value"]?.DeepClone() : throw new InvalidOperationException($"json patch {o["op"]} at {o["path"]} has no \"value\"");

    private static string From(JsonObject o) =>
        o["from"]?.GetValue<string>() ?? throw new InvalidOperationException($"json patch {o["op"]} at {o["path"]} has no \"from\"");

    private static List<string> Tokens(string pointer)
    {
        if (pointer.Length == 0) return [];
        if (!pointer.StartsWith('/')) throw new InvalidOperationException($"json pointer '{pointer}' must start with /");
        return pointer[1..].Split('/').Select(t => t.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();
    }

    private static JsonNode? Get(JsonNode? doc, string pointer)
    {
        var node = doc;
        foreach (var t in Tokens(pointer))
            node = node switch
            {
                JsonObject o when o.ContainsKey(t) => o[t],
                JsonArray a when int.TryParse(t, out var i) && i >= 0 && i < a.Count => a[i],
                _ => throw new InvalidOperationException($"json pointer {pointer}: '{t}' does not exist"),
            };
        return node;
    }

    private static JsonNode? Add(JsonNode? doc, string pointer, JsonNode? value)
    {
        var tokens = Tokens(pointer);
        if (tokens.Count == 0) return value;
        var parent = Get(doc, string.Concat(tokens[..^1].Select(t => "/" + Escape(t))));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o: o[last] = value; break;
            case JsonArray a when last == "-": a.Add(value); break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i <= a.Count: a.Insert(i, value); break;
            default: throw new InvalidOperationException($"json pointer {pointer}: cannot add at '{last}'");
        }
        return doc;
    }

    private static JsonNode? Remove(JsonNode? doc, string pointer, out JsonNode? removed)
    {
        var tokens = Tokens(pointer);
        if (tokens.Count == 0) throw new InvalidOperationException("json patch cannot remove the whole document");
        var parent = Get(doc, string.Concat(tokens[..^1].Select(t => "/" + Escape(t))));
        var last = tokens[^1];
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                removed = o[last];
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, out var i) && i >= 0 && i < a.Count:
                removed = a[i];
                a.RemoveAt(i);
                break;
            default: throw new InvalidOperationException($"json pointer {pointer}: '{last}' does not exist");
        }
        return doc;
    }

    private static string Escape(string token) => token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
