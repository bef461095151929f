using System.Text.Json.Nodes;

namespace EventGateway.Languages.Json;

/// <summary>
/// tidwall/sjson's Set on a JsonNode tree, for the simple path syntax Argo's <c>dest</c> uses: dot-separated keys,
/// <c>\</c> escapes, a leading <c>:</c> forcing an object key, numeric keys indexing arrays (padding with nulls
/// past the end), <c>-1</c> appending, and missing or scalar intermediates replaced by an object (or an array
/// when the key is numeric). Query syntax (<c>| # @ * ?</c>) is rejected rather than half-supported.
/// </summary>
public static class SJson
{
    private readonly record struct Part(string Key, bool Force)
    {
        public bool IsAppend => !Force && Key == "-1";

        /// <summary>sjson's atoui: digits only (an empty key counts as 0), never for a forced key.</summary>
        public bool TryIndex(out int index)
        {
            index = 0;
            if (Force)
            {
                return false;
            }

            foreach (var c in Key)
            {
                if (c is < '0' or > '9' || index > (int.MaxValue - 9) / 10)
                {
                    return false;
                }

                index = (index * 10) + (c - '0');
            }

            return true;
        }
    }

    /// <summary>Sets <paramref name="value"/> at <paramref name="path"/> in place; returns the (possibly new) root.</summary>
    /// <exception cref="ArgumentException">The path is empty, uses query syntax or indexes an array with a non-numeric key.</exception>
    public static JsonNode Set(JsonNode? root, string path, JsonNode? value, int maxArrayIndex = 10_000)
    {
        var parts = Parse(path);
        return SetAt(root, parts, 0, value, maxArrayIndex)!;
    }

    private static List<Part> Parse(string path)
    {
        if (path.Length == 0)
        {
            throw new ArgumentException("path cannot be empty");
        }

        var parts = new List<Part>();
        var key = new System.Text.StringBuilder();
        var force = false;
        for (var i = 0; i <= path.Length; i++)
        {
            if (i == path.Length || path[i] == '.')
            {
                parts.Add(new Part(key.ToString(), force));
                key.Clear();
                force = false;
                continue;
            }

            var c = path[i];
            if (c == ':' && key.Length == 0 && !force && (i == 0 || path[i - 1] == '.'))
            {
                force = true;
                continue;
            }

            if (c is '|' or '#' or '@' or '*' or '?')
            {
                throw new ArgumentException($"'{c}' (gjson query/wildcard syntax) is not supported in a destination path");
            }

            if (c == '\\')
            {
                if (++i < path.Length)
                {
                    key.Append(path[i]);
                }

                continue;
            }

            key.Append(c);
        }

        return parts;
    }

    private static JsonNode? SetAt(JsonNode? current, List<Part> parts, int i, JsonNode? value, int maxIndex)
    {
        var part = parts[i];
        var last = i == parts.Count - 1;

        // An existing slot: descend or replace.
        if (current is JsonObject obj && obj.TryGetPropertyValue(part.Key, out var child))
        {
            var updated = last ? value : SetAt(child, parts, i + 1, value, maxIndex);
            if (!ReferenceEquals(updated, child))
            {
                obj[part.Key] = updated;
            }

            return obj;
        }

        var numeric = part.TryIndex(out var index);
        if (current is JsonArray arr && numeric && index < arr.Count)
        {
            var existing = arr[index];
            var replacement = last ? value : SetAt(existing, parts, i + 1, value, maxIndex);
            if (!ReferenceEquals(replacement, existing))
            {
                arr[index] = replacement;
            }

            return arr;
        }

        // A missing slot: scalars and nothing become a container shaped by the key.
        if (current is not JsonObject and not JsonArray)
        {
            current = numeric ? new JsonArray() : new JsonObject();
        }

        if (current is JsonObject target)
        {
            target[part.Key] = Build(parts, i + 1, value, maxIndex);
            return target;
        }

        var array = (JsonArray)current;
        if (!numeric && !part.IsAppend)
        {
            throw new ArgumentException($"cannot set array element for non-numeric key '{part.Key}'");
        }

        if (numeric)
        {
            Guard(index, maxIndex);
            while (array.Count < index)
            {
                array.Add(null);
            }
        }

        array.Add(Build(parts, i + 1, value, maxIndex));
        return array;
    }

    /// <summary>The new subtree for parts[i..]: arrays for numeric or -1 keys (nulls before the index), objects otherwise.</summary>
    private static JsonNode? Build(List<Part> parts, int i, JsonNode? value, int maxIndex)
    {
        if (i == parts.Count)
        {
            return value;
        }

        var part = parts[i];
        if (part.TryIndex(out var index) || part.IsAppend)
        {
            Guard(index, maxIndex);
            var array = new JsonArray();
            for (var n = 0; n < index; n++)
            {
                array.Add(null);
            }

            array.Add(Build(parts, i + 1, value, maxIndex));
            return array;
        }

        return new JsonObject { [part.Key] = Build(parts, i + 1, value, maxIndex) };
    }

    // sjson would pad a billion nulls for "items.1000000000"; bound it instead.
    private static void Guard(int index, int maxIndex)
    {
        if (index > maxIndex)
        {
            throw new ArgumentException($"array index {index} is beyond the limit of {maxIndex}");
        }
    }
}
