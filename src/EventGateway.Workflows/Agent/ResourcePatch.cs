using System.Globalization;
using System.Text.Json.Nodes;

namespace EventGateway.Workflows.Agent;

/// <summary>
/// The patches a resource template applies: JSON merge patch (RFC 7386), which also stands in for Kubernetes'
/// strategic merge (lists are replaced whole, as for custom resources), and JSON patch (RFC 6902).
/// </summary>
public static class ResourcePatch
{
    /// <summary>Merges <paramref name="patch"/> into <paramref name="target"/> in place: null removes a field, objects merge, the rest replaces.</summary>
    public static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (key, value) in patch.ToList())
        {
            if (value is null) target.Remove(key);
            else if (value is JsonObject p && target[key] is JsonObject t) Merge(t, p);
            else target[key] = value.DeepClone();
        }
    }

    /// <summary>Applies RFC 6902 operations in order; a FormatException names the failing operation. All or nothing: work on a copy.</summary>
    public static JsonNode Apply(JsonNode document, JsonArray operations)
    {
        var doc = document.DeepClone();
        for (var i = 0; i < operations.Count; i++)
        {
            if (operations[i] is not JsonObject op || op["op"]?.GetValue<string>() is not { } name || op["path"]?.GetValue<string>() is not { } path)
                throw new FormatException($"patch[{i}]: an operation needs op and path");
            try
            {
                switch (name)
                {
                    case "add": Add(ref doc, path, Value(op)); break;
                    case "remove": Remove(doc, path); break;
                    case "replace": Replace(ref doc, path, Value(op)); break;
                    case "move": { var v = Get(doc, From(op)); Remove(doc, From(op)); Add(ref doc, path, v); break; }
                    case "copy": Add(ref doc, path, Get(doc, From(op))?.DeepClone()); break;
                    case "test":
                        if (!JsonNode.DeepEquals(Get(doc, path), op["value"])) throw new FormatException($"test failed: {path} is not {op["value"]?.ToJsonString() ?? "null"}");
                        break;
                    default: throw new FormatException($"'{name}' is not an operation (add, remove, replace, move, copy, test)");
                }
            }
            catch (FormatException e)
            {
                throw new FormatException($"patch[{i}] ({name} {path}): {e.Message}", e);
            }
        }
        return doc;
    }

    private static JsonNode? Value(JsonObject op) => op.ContainsKey("value") ? op["value"]?.DeepClone() : throw new FormatException("missing value");

    private static string From(JsonObject op) => op["from"]?.GetValue<string>() ?? throw new FormatException("missing from");

    private static List<string> Pointer(string path)
    {
        if (path.Length == 0) return [];
        if (path[0] != '/') throw new FormatException($"'{path}' is not a JSON pointer");
        return path[1..].Split('/').Select(s => s.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToList();
    }

    private static JsonNode? Get(JsonNode? doc, string path)
    {
        var node = doc;
        foreach (var token in Pointer(path))
            node = node switch
            {
                JsonObject o when o.TryGetPropertyValue(token, out var v) => v,
                JsonArray a when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => throw new FormatException($"{path} does not exist"),
            };
        return node;
    }

    private static (JsonNode Parent, string Last) Parent(JsonNode doc, string path)
    {
        var tokens = Pointer(path);
        if (tokens.Count == 0) throw new FormatException("the whole document cannot be the target");
        var parent = tokens.Count == 1 ? doc
            : Get(doc, "/" + string.Join('/', tokens[..^1].Select(t => t.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal))));
        return (parent ?? throw new FormatException($"the parent of {path} is null"), tokens[^1]);
    }

    private static void Add(ref JsonNode doc, string path, JsonNode? value)
    {
        if (path.Length == 0) { doc = value ?? throw new FormatException("the document cannot become null"); return; }
        var (parent, last) = Parent(doc, path);
        switch (parent)
        {
            case JsonObject o: o[last] = value; break;
            case JsonArray a when last == "-": a.Add(value); break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count: a.Insert(i, value); break;
            default: throw new FormatException($"{path} cannot be added to");
        }
    }

    /// <summary>Sets an existing member in place, so an object keeps its field order.</summary>
    private static void Replace(ref JsonNode doc, string path, JsonNode? value)
    {
        if (path.Length == 0) { doc = value ?? throw new FormatException("the document cannot become null"); return; }
        var (parent, last) = Parent(doc, path);
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last): o[last] = value; break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count: a[i] = value; break;
            default: throw new FormatException($"{path} does not exist");
        }
    }

    private static void Remove(JsonNode doc, string path)
    {
        var (parent, last) = Parent(doc, path);
        switch (parent)
        {
            case JsonObject o when o.Remove(last): break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count: a.RemoveAt(i); break;
            default: throw new FormatException($"{path} does not exist");
        }
    }
}
