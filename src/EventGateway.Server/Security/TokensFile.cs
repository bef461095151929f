using System.Text.Json;
using System.Text.Json.Nodes;
using EventGateway.Model.Manifests;

namespace EventGateway.Server.Security;

/// <summary>A token the service accepts: the digest it is checked against and what it may do.</summary>
public sealed record ApiToken(byte[] Digest, ApiGrant Grant);

/// <summary>
/// The <c>egw serve --tokens FILE</c> format, YAML or JSON:
/// <code>
/// tokens:
/// - name: ci
///   sha256: 9f86d0...      # or token: the token itself (at least 32 characters)
///   namespaces: [ci]       # or "*"
///   role: submit           # read | submit | admin
/// </code>
/// </summary>
public static class TokensFile
{
    /// <exception cref="FormatException">the file is not valid; the message says where and why.</exception>
    public static IReadOnlyList<ApiToken> Parse(string text, string source)
    {
        JsonNode? root;
        try
        {
            var docs = YamlToJson.Convert(text);
            if (docs.Count != 1) throw new FormatException($"{source}: expected one YAML or JSON document, found {docs.Count}");
            root = JsonNode.Parse(docs[0].Json);
        }
        catch (YamlToJson.SyntaxError e) { throw new FormatException($"{source}: unparseable YAML: {e.Message}"); }
        catch (JsonException e) { throw new FormatException($"{source}: {e.Message}"); }
        if (root is not JsonObject o || o["tokens"] is not JsonArray list)
            throw new FormatException($"{source}: expected a 'tokens' list");
        var tokens = new List<ApiToken>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            var where = $"{source}: tokens[{i}]";
            if (list[i] is not JsonObject entry) throw new FormatException($"{where}: expected an object with name, sha256 or token, namespaces, role");
            if (entry.Select(p => p.Key).FirstOrDefault(k => k is not ("name" or "sha256" or "token" or "namespaces" or "role")) is { } unknown)
                throw new FormatException($"{where}.{unknown}: unknown field; fields are name, sha256, token, namespaces, role");
            var name = Text(entry, "name", where) ?? throw new FormatException($"{where}.name: missing");
            if (!names.Add(name)) throw new FormatException($"{where}.name: '{name}' is named twice");
            var digest = Digest(Text(entry, "token", where), Text(entry, "sha256", where), $"{where} ({name})");
            var role = Role(Text(entry, "role", where), $"{where}.role");
            tokens.Add(new ApiToken(digest, new ApiGrant(name, role, Namespaces(entry["namespaces"], $"{where}.namespaces"))));
        }
        return tokens;
    }

    /// <summary>The digest from either the token itself or its sha256; exactly one of them.</summary>
    internal static byte[] Digest(string? token, string? sha256, string where)
    {
        if (token is not null && sha256 is not null) throw new FormatException($"{where}: give token or sha256, not both");
        if (token is not null)
            return token.Length >= TokenHash.MinTokenLength ? TokenHash.Of(token)
                : throw new FormatException($"{where}.token: shorter than {TokenHash.MinTokenLength} characters; use a random token (e.g. openssl rand -hex 32)");
        if (sha256 is not null)
            return TokenHash.ParseHex(sha256.ToLowerInvariant()) ?? throw new FormatException($"{where}.sha256: not 64 hex digits");
        throw new FormatException($"{where}: missing token or sha256");
    }

    internal static ApiRole Role(string? text, string where) =>
        ApiGrant.TryParseRole(text, out var role) ? role
        : throw new FormatException($"{where}: {(text is null ? "missing" : $"'{text}' is not a role")}: one of read, submit, admin");

    /// <summary>A list of namespaces, or "*" (alone or in a list) for all; YAML, JSON or comma-separated text.</summary>
    internal static IReadOnlyList<string> Namespaces(JsonNode? node, string where)
    {
        List<string> list = node switch
        {
            null => throw new FormatException($"{where}: missing: a list of namespaces, or \"*\""),
            JsonValue v when v.TryGetValue<string>(out var s) => ParseText(s, where),
            JsonArray a => a.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s) ? s.Trim() : throw new FormatException($"{where}: namespaces must be strings")).ToList(),
            _ => throw new FormatException($"{where}: a list of namespaces, or \"*\""),
        };
        if (list.Count == 0 || list.Any(n => n.Length == 0)) throw new FormatException($"{where}: empty; name at least one namespace, or \"*\"");
        return list;
    }

    /// <summary>Namespaces as a Secret holds them: "*", "a,b", or a JSON/YAML list.</summary>
    internal static List<string> ParseText(string text, string where)
    {
        var t = text.Trim();
        if (t.StartsWith('['))
        {
            try { return [.. Namespaces(JsonNode.Parse(YamlToJson.Convert(t)[0].Json), where)]; }
            catch (Exception e) when (e is JsonException or YamlToJson.SyntaxError or ArgumentOutOfRangeException)
            { throw new FormatException($"{where}: '{t}' is not a list of namespaces"); }
        }
        return [.. t.Split(',', StringSplitOptions.TrimEntries)];
    }

    private static string? Text(JsonObject o, string field, string where) => o[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw new FormatException($"{where}.{field}: must be a string"),
    };
}
