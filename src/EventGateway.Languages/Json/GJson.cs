using System.Globalization;
using System.Text;
using System.Text.Json;

namespace EventGateway.Languages.Json;

/// <summary>
/// The subset of gjson path syntax (github.com/tidwall/gjson) that Argo Events Sensors use in filters and
/// <c>dataKey</c>: dot-separated keys, <c>\</c> escapes (<c>a\.b</c> is the key "a.b"), numeric array
/// indices, <c>#</c> (array length), <c>items.#.name</c> (collect a key from every element) and the
/// <c>*</c>/<c>?</c> key wildcards (first key in document order for which the rest of the path matches).
/// Not supported (<see cref="IsSupported"/> says so): queries <c>#(...)</c>, pipes <c>|</c>, multipaths
/// <c>[...]</c>/<c>{...}</c>, literals <c>!</c>, JSON Lines <c>..</c>. Modifiers such as <c>@reverse</c> are
/// not applied: an <c>@</c> component is an ordinary key, as gjson does for unknown modifiers (<c>@timestamp</c>).
/// </summary>
public static class GJson
{
    /// <summary>The value at <paramref name="path"/>, or null when nothing matches (gjson's !Exists()).</summary>
    public static JsonElement? Get(JsonElement root, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0 || !IsSupported(path, out _))
        {
            return null;
        }

        return Walk(root, Split(path), 0);
    }

    /// <summary>False (with the reason) for gjson syntax this class does not implement.</summary>
    public static bool IsSupported(string path, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(path);
        reason = path switch
        {
            "" => "path is empty",
            _ when path.StartsWith("..", StringComparison.Ordinal) => "JSON Lines paths ('..') are not supported",
            _ when path[0] is '[' or '{' => "multipaths ('[...]', '{...}') are not supported",
            _ when path[0] == '!' => "literals ('!') are not supported",
            _ => null,
        };
        if (reason is not null)
        {
            return false;
        }

        foreach (var part in Split(path))
        {
            if (part.Pipe)
            {
                reason = "pipes ('|') are not supported";
                return false;
            }

            if (part.Query)
            {
                reason = "queries ('#(...)') are not supported";
                return false;
            }
        }

        return true;
    }

    /// <summary>gjson's Result.String(): strings unquoted, numbers as written, null empty, objects/arrays raw JSON.</summary>
    public static string ToGoString(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null or JsonValueKind.Undefined => string.Empty,
        _ => value.GetRawText(),
    };

    /// <summary>gjson's Result.Float(): numbers, numeric strings, true = 1; anything else 0.</summary>
    public static double ToFloat(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True => 1,
        JsonValueKind.String => GoParseFloat(value.GetString()!) ?? 0,
        _ => 0,
    };

    /// <summary>gjson's Result.Bool(): true, non-zero numbers, and strings Go's ParseBool reads as true once lower-cased.</summary>
    public static bool ToBool(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.Number => value.GetDouble() != 0,
        JsonValueKind.String => GoParseBool(value.GetString()!.ToLowerInvariant()) == true,
        _ => false,
    };

    /// <summary>Go's strconv.ParseBool: exactly 1 t T TRUE true True / 0 f F FALSE false False, else null.</summary>
    public static bool? GoParseBool(string text) => text switch
    {
        "1" or "t" or "T" or "TRUE" or "true" or "True" => true,
        "0" or "f" or "F" or "FALSE" or "false" or "False" => false,
        _ => null,
    };

    /// <summary>Go's strconv.ParseFloat for decimal forms (hex floats and underscores are not accepted here).</summary>
    public static double? GoParseFloat(string text)
    {
        var lower = text.ToLowerInvariant().TrimStart('+', '-');
        if (lower is "inf" or "infinity" or "nan")
        {
            return lower == "nan" ? double.NaN : text.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity;
        }

        return text.Length > 0 && !char.IsWhiteSpace(text[0]) && !char.IsWhiteSpace(text[^1])
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d
            : null;
    }

    private readonly record struct Part(string Key, bool Wildcard, bool Hash, bool Pipe, bool Query);

    private static List<Part> Split(string path)
    {
        var parts = new List<Part>();
        var key = new StringBuilder();
        bool wildcard = false, pipe = false, escapedAny = false;
        for (var i = 0; i <= path.Length; i++)
        {
            if (i == path.Length || path[i] == '.')
            {
                var text = key.ToString();
                var raw = !escapedAny;
                parts.Add(new Part(text, wildcard, raw && text == "#", pipe, raw && text.StartsWith("#(", StringComparison.Ordinal)));
                key.Clear();
                wildcard = pipe = escapedAny = false;
                continue;
            }

            var c = path[i];
            if (c == '\\' && i + 1 < path.Length)
            {
                // An escaped character is literal: it neither separates nor acts as a wildcard.
                key.Append(WildcardEscape(path[++i]));
                escapedAny = true;
                continue;
            }

            wildcard |= c is '*' or '?';
            pipe |= c == '|';
            key.Append(c);
        }

        // Keys with wildcards keep '\' escapes for the matcher; plain keys are unescaped.
        for (var i = 0; i < parts.Count; i++)
        {
            if (!parts[i].Wildcard)
            {
                parts[i] = parts[i] with { Key = Unescape(parts[i].Key) };
            }
        }

        return parts;
    }

    // Marks escaped characters with a private-use prefix so the wildcard matcher treats them literally.
    private const char Literal = '\uE000';

    private static string WildcardEscape(char c) => c is '*' or '?' ? $"{Literal}{c}" : c.ToString();

    private static string Unescape(string key) => key.Replace(Literal.ToString(), string.Empty, StringComparison.Ordinal);

    private static JsonElement? Walk(JsonElement current, List<Part> parts, int index)
    {
        if (index == parts.Count)
        {
            return current;
        }

        var part = parts[index];
        if (current.ValueKind == JsonValueKind.Array)
        {
            if (part.Hash)
            {
                return index == parts.Count - 1 ? Number(current.GetArrayLength()) : Collect(current, parts, index + 1);
            }

            return !part.Wildcard && int.TryParse(part.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var at) && at < current.GetArrayLength()
                ? Walk(current[at], parts, index + 1)
                : null;
        }

        if (current.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in current.EnumerateObject())
        {
            if (part.Wildcard ? WildcardMatch(part.Key, 0, property.Name, 0) : property.NameEquals(part.Key))
            {
                // gjson takes the first matching key whose value also satisfies the rest of the path.
                if (Walk(property.Value, parts, index + 1) is { } found)
                {
                    return found;
                }
            }
        }

        return null;
    }

    private static JsonElement Collect(JsonElement array, List<Part> parts, int index)
    {
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var item in array.EnumerateArray())
            {
                if (Walk(item, parts, index) is { } found)
                {
                    found.WriteTo(writer);
                }
            }

            writer.WriteEndArray();
        }

        using var document = JsonDocument.Parse(buffer.ToArray());
        return document.RootElement.Clone();
    }

    private static JsonElement Number(int value)
    {
        using var document = JsonDocument.Parse(value.ToString(CultureInfo.InvariantCulture));
        return document.RootElement.Clone();
    }

    private static bool WildcardMatch(string pattern, int p, string name, int n)
    {
        // Iterative glob with single-star backtracking: linear enough for key names.
        int star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && pattern[p] == Literal)
            {
                if (p + 1 < pattern.Length && pattern[p + 1] == name[n])
                {
                    p += 2;
                    n++;
                    continue;
                }
            }
            else if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]) && pattern[p] != '*')
            {
                p++;
                n++;
                continue;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
                continue;
            }

            if (star < 0)
            {
                return false;
            }

            p = star + 1;
            n = ++mark;
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
