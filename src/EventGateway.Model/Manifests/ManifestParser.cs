using System.Text.Json;

namespace EventGateway.Model.Manifests;

/// <summary>
/// Reads YAML or JSON (one or many documents) into typed resources and checks them with its
/// <see cref="ManifestValidator"/>. Either every document is valid and all are returned, or a
/// <see cref="ManifestException"/> lists every problem found.
/// </summary>
public sealed class ManifestParser(ManifestValidator validator)
{
    public IReadOnlyList<Resource> ReadFile(string path)
    {
        // A file over the cap is refused before it is read into memory.
        if (new FileInfo(path).Length > YamlToJson.MaxManifestBytes)
            throw new ManifestException([new ManifestError(path, 0, null, null, "", null, $"manifest is larger than {YamlToJson.MaxManifestBytes} bytes (the limit of one manifest)")]);
        return Read(File.ReadAllText(path), path);
    }

    public IReadOnlyList<Resource> Read(string text, string source = "<input>")
    {
        var (result, errors) = ReadEach(text, source);
        if (errors.Count > 0) throw new ManifestException(errors);
        return result;
    }

    /// <summary>
    /// Reads every document on its own: the valid ones are returned beside the errors of the others,
    /// for loaders where one bad document must not stop the rest (a manifest directory).
    /// </summary>
    public (IReadOnlyList<Resource> Valid, IReadOnlyList<ManifestError> Errors) ReadEach(string text, string source = "<input>")
    {
        List<YamlToJson.Document> docs;
        try
        {
            docs = YamlToJson.Convert(text);
        }
        catch (YamlToJson.SyntaxError e)
        {
            var line = e.Yaml.Start.Line > 0 ? (int)e.Yaml.Start.Line : (int?)null;
            var reason = e.Yaml is YamlToJson.LimitExceeded limit ? limit.Reason : $"unparseable YAML: {Clean(e.Message)}";
            return ([], [new ManifestError(source, e.Document, null, null, "", line, reason)]);
        }

        return ReadDocuments(docs, source);
    }

    /// <summary>
    /// Reads one manifest already in JSON (an API request's body): the same checks as YAML without converting it,
    /// which costs more than the rest of a submission. Errors name the field; a JSON body has no lines to point at.
    /// </summary>
    public Resource ReadJson(System.Text.Json.Nodes.JsonNode json, string source)
    {
        var (result, errors) = ReadDocuments([new YamlToJson.Document(0, 1, JsonSerializer.SerializeToUtf8Bytes(json), Lines: EmptyLines)], source);
        if (errors.Count > 0) throw new ManifestException(errors);
        return result[0];
    }

    private static readonly IReadOnlyDictionary<string, int> EmptyLines = new Dictionary<string, int>();

    private (IReadOnlyList<Resource> Valid, IReadOnlyList<ManifestError> Errors) ReadDocuments(List<YamlToJson.Document> docs, string source)
    {
        var errors = new List<ManifestError>();
        var result = new List<Resource>();
        foreach (var doc in docs)
        {
            var resource = ReadDocument(doc, source, errors);
            if (resource is null) continue;
            var before = errors.Count;
            validator.Validate(resource, (path, reason) => errors.Add(new ManifestError(
                source, doc.Index, resource.Kind, resource.Metadata.Name ?? resource.Metadata.GenerateName, path, LineOf(doc, path), reason)));
            if (errors.Count == before) result.Add(resource);
        }
        if (docs.Count == 0) errors.Add(new ManifestError(source, 0, null, null, "", null, "no documents found"));
        return (result, errors);
    }

    private static Resource? ReadDocument(YamlToJson.Document doc, string source, List<ManifestError> errors)
    {
        void Fail(string path, string reason, string? kind = null, string? name = null) =>
            errors.Add(new ManifestError(source, doc.Index, kind, name, path, LineOf(doc, path) ?? doc.Line, reason));

        using var head = JsonDocument.Parse(doc.Json);
        if (head.RootElement.ValueKind != JsonValueKind.Object) { Fail("", "a manifest must be a mapping with apiVersion, kind and metadata"); return null; }
        var kind = head.RootElement.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
        var apiVersion = head.RootElement.TryGetProperty("apiVersion", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        string? name = null;
        if (head.RootElement.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object)
            name = m.TryGetProperty("name", out var n) ? n.ToString() : m.TryGetProperty("generateName", out var g) ? g.ToString() : null;

        if (kind is null) { Fail("kind", "missing: every manifest needs a kind"); return null; }
        if (!Resources.Kinds.TryGetValue(kind, out var entry))
        {
            Fail("kind", $"unknown kind '{kind}'; expected one of {string.Join(", ", Resources.Kinds.Keys)}", kind, name);
            return null;
        }
        if (apiVersion != entry.ApiVersion)
        {
            Fail("apiVersion", apiVersion is null ? $"missing: {kind} needs apiVersion {entry.ApiVersion}" : $"'{apiVersion}' is not served for {kind}; use {entry.ApiVersion}", kind, name);
            return null;
        }
        try
        {
            return (Resource)JsonSerializer.Deserialize(doc.Json, entry.Type, Json.Options)!;
        }
        catch (JsonException e)
        {
            var (path, reason) = Explain(e);
            Fail(path, reason, kind, name);
            return null;
        }
    }

    /// <summary>Turns System.Text.Json's messages into a field path and a reason a person can act on.</summary>
    public static (string Path, string Reason) Explain(JsonException e)
    {
        var path = ToFieldPath(e.Path);
        var msg = e.Message;
        const string unmapped = "The JSON property '";
        if (msg.StartsWith(unmapped, StringComparison.Ordinal))
        {
            var field = msg[unmapped.Length..msg.IndexOf('\'', unmapped.Length)];
            // The serializer reports the parent's path for an unmapped member.
            var full = path.Length == 0 ? field : path.EndsWith(field, StringComparison.Ordinal) ? path : $"{path}.{field}";
            return (full, $"unknown field \"{field}\"");
        }
        if (msg.Contains("could not be converted to", StringComparison.Ordinal))
        {
            var target = msg[(msg.IndexOf("converted to ", StringComparison.Ordinal) + 13)..];
            var end = target.IndexOf(". Path", StringComparison.Ordinal);
            if (end > 0) target = target[..end];
            return (path, $"wrong type: expected {Friendly(target)}");
        }
        return (path, e.InnerException?.Message ?? Clean(msg));
    }

    private static string Friendly(string clrType) => clrType switch
    {
        _ when clrType.Contains("Int", StringComparison.Ordinal) => "an integer",
        _ when clrType.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ when clrType.Contains("List", StringComparison.Ordinal) || clrType.Contains("JsonArray", StringComparison.Ordinal) => "a list",
        _ when clrType.Contains("Dictionary", StringComparison.Ordinal) => "a mapping of strings",
        _ when clrType.Contains("String", StringComparison.Ordinal) => "a string",
        _ when clrType.Contains("DateTimeOffset", StringComparison.Ordinal) => "an RFC 3339 time",
        _ => "a mapping",
    };

    private static string ToFieldPath(string? jsonPath) =>
        string.IsNullOrEmpty(jsonPath) || jsonPath == "$" ? "" : jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');

    private static int? LineOf(YamlToJson.Document doc, string fieldPath)
    {
        var p = fieldPath.Length == 0 ? "$" : "$." + fieldPath;
        while (true)
        {
            if (doc.Lines.TryGetValue(p, out var line)) return line;
            var cut = Math.Max(p.LastIndexOf('.'), p.LastIndexOf('['));
            if (cut <= 1) return null;
            p = p[..cut];
        }
    }

    private static string Clean(string message) => message.Replace(Environment.NewLine, " ", StringComparison.Ordinal);
}
