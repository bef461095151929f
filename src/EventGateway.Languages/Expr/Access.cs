using System.Globalization;

namespace EventGateway.Languages.Expr;

/// <summary>Member, index and slice semantics shared by the <c>.</c>, <c>?.</c> and <c>[...]</c> operators.</summary>
internal static class Access
{
    /// <summary>
    /// Looks <paramref name="key"/> up in <paramref name="target"/>. May return an <see cref="EnvNode"/> so a
    /// further access can still reach children of a key that is both a leaf and a prefix.
    /// </summary>
    public static object? Get(object? target, object? key, bool optional)
    {
        if (target is EnvNode node)
        {
            if (key is string name)
            {
                if (node.TryGetChild(name, out var child))
                {
                    return child;
                }

                // Missing variables are "unresolved" (not plain nil) so templates can leave them for a later pass.
                return optional ? null : throw ExprError.UnknownName(node.ChildPath(name));
            }

            target = node.Collapse();
            if (target is EnvNode)
            {
                throw new ExprError($"cannot index map with {Values.TypeName(key)}");
            }
        }

        switch (target)
        {
            case null:
                return optional ? null : throw new ExprError($"cannot fetch {Describe(key)} from nil");
            case string s:
                return s[IndexOf(key, s.Length, "string")].ToString();
        }

        if (Values.AsMap(target) is { } map)
        {
            if (key is not string k)
            {
                throw new ExprError($"cannot index map with {Values.TypeName(key)}");
            }

            // expr semantics: a missing map key is nil, not an error.
            return map.TryGetValue(k, out var value) ? value : null;
        }

        if (Values.AsList(target) is { } list)
        {
            return list[IndexOf(key, list.Count, "array")];
        }

        throw new ExprError($"cannot fetch {Describe(key)} from {Values.TypeName(target)}");
    }

    public static object? Slice(object? target, object? from, object? to)
    {
        target = target is EnvNode node ? node.Collapse() : target;
        if (target is string s)
        {
            var (start, end) = Bounds(from, to, s.Length);
            return s[start..end];
        }

        if (Values.AsList(target) is { } list)
        {
            var (start, end) = Bounds(from, to, list.Count);
            var result = new List<object?>(end - start);
            for (var i = start; i < end; i++)
            {
                result.Add(list[i]);
            }

            return result;
        }

        throw new ExprError($"cannot slice {Values.TypeName(target)}");
    }

    private static int IndexOf(object? key, int length, string what)
    {
        if (!Values.TryInt(key, out var index))
        {
            throw new ExprError($"{what} index must be int, got {Values.TypeName(key)}");
        }

        var adjusted = index < 0 ? index + length : index;
        if (adjusted < 0 || adjusted >= length)
        {
            throw new ExprError($"index out of range: {index} ({what} length is {length})");
        }

        return (int)adjusted;
    }

    // Slices clamp instead of failing, as expr does.
    private static (int Start, int End) Bounds(object? from, object? to, int length)
    {
        var start = Bound(from, 0, length);
        var end = Bound(to, length, length);
        return (start, Math.Max(start, end));
    }

    private static int Bound(object? value, int fallback, int length)
    {
        if (value is null)
        {
            return fallback;
        }

        if (!Values.TryInt(value, out var index))
        {
            throw new ExprError($"slice index must be int, got {Values.TypeName(value)}");
        }

        if (index < 0)
        {
            index += length;
        }

        return (int)Math.Clamp(index, 0, length);
    }

    private static string Describe(object? key) => key switch
    {
        string s => s,
        _ => Convert.ToString(key, CultureInfo.InvariantCulture) ?? "nil",
    };
}
