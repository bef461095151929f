namespace EventGateway.Languages.Expr;

internal enum BinaryOp
{
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Power,
    Equal,
    NotEqual,
    Less,
    Greater,
    LessOrEqual,
    GreaterOrEqual,
    In,
    Matches,
    Contains,
    StartsWith,
    EndsWith,
    Range,
}

/// <summary>
/// Arithmetic and comparison rules of expr: int op int stays int (except <c>/</c> and <c>**</c>, which are
/// float), mixed numbers widen to float, <c>+</c> concatenates strings, and anything else is a type error.
/// </summary>
internal static class Operators
{
    /// <summary>Upper bound on <c>a..b</c> so a typo cannot allocate unbounded memory.</summary>
    public const int MaxRange = 1_000_000;

    public static object? Apply(BinaryOp op, object? left, object? right) => op switch
    {
        BinaryOp.Add => Add(left, right),
        BinaryOp.Subtract => Arithmetic(left, right, "subtract", static (a, b) => unchecked(a - b), static (a, b) => a - b),
        BinaryOp.Multiply => Arithmetic(left, right, "multiply", static (a, b) => unchecked(a * b), static (a, b) => a * b),
        BinaryOp.Divide => Float(left, right, "divide", static (a, b) => a / b),
        BinaryOp.Modulo => Modulo(left, right),
        BinaryOp.Power => Float(left, right, "raise", Math.Pow),
        BinaryOp.Equal => Values.DeepEqual(left, right),
        BinaryOp.NotEqual => !Values.DeepEqual(left, right),
        BinaryOp.Less => Compare(left, right, "<") < 0,
        BinaryOp.Greater => Compare(left, right, ">") > 0,
        BinaryOp.LessOrEqual => Compare(left, right, "<=") <= 0,
        BinaryOp.GreaterOrEqual => Compare(left, right, ">=") >= 0,
        BinaryOp.In => In(left, right),
        BinaryOp.Matches => RegexCache.IsMatch(Text(right, "matches"), Text(left, "matches")),
        BinaryOp.Contains => Text(left, "contains").Contains(Text(right, "contains"), StringComparison.Ordinal),
        BinaryOp.StartsWith => Text(left, "startsWith").StartsWith(Text(right, "startsWith"), StringComparison.Ordinal),
        BinaryOp.EndsWith => Text(left, "endsWith").EndsWith(Text(right, "endsWith"), StringComparison.Ordinal),
        BinaryOp.Range => Range(left, right),
        _ => throw new ExprError($"unsupported operator {op}"),
    };

    public static object Negate(object? value)
    {
        if (Values.TryInt(value, out var i))
        {
            return unchecked(-i);
        }

        return Values.TryNumber(value, out var d) ? -d : throw new ExprError($"cannot negate {Values.TypeName(value)}");
    }

    public static object Plus(object? value) =>
        Values.IsNumber(value) ? Values.Normalize(value)! : throw new ExprError($"cannot apply unary + to {Values.TypeName(value)}");

    public static bool Bool(object? value, string context) =>
        value is bool b ? b : throw new ExprError($"{context} expects bool, got {Values.TypeName(value)}");

    /// <summary>Ordering for numbers (across int/float) and strings; other pairs are a type error.</summary>
    public static int Compare(object? left, object? right, string op)
    {
        if (Values.TryInt(left, out var li) && Values.TryInt(right, out var ri))
        {
            return li.CompareTo(ri);
        }

        if (Values.TryNumber(left, out var ld) && Values.TryNumber(right, out var rd))
        {
            return ld.CompareTo(rd);
        }

        if (left is string ls && right is string rs)
        {
            return string.CompareOrdinal(ls, rs);
        }

        throw new ExprError($"cannot compare {Values.TypeName(left)} and {Values.TypeName(right)} with '{op}'");
    }

    private static object Add(object? left, object? right)
    {
        if (left is string ls && right is string rs)
        {
            return ls + rs;
        }

        if (Values.AsList(left) is { } ll && Values.AsList(right) is { } rl)
        {
            var joined = new List<object?>(ll.Count + rl.Count);
            joined.AddRange(ll);
            joined.AddRange(rl);
            return joined;
        }

        return Arithmetic(left, right, "add", static (a, b) => unchecked(a + b), static (a, b) => a + b);
    }

    private static object Arithmetic(object? left, object? right, string verb, Func<long, long, long> ints, Func<double, double, double> floats)
    {
        if (Values.TryInt(left, out var li) && Values.TryInt(right, out var ri))
        {
            return ints(li, ri);
        }

        return Float(left, right, verb, floats);
    }

    private static object Float(object? left, object? right, string verb, Func<double, double, double> floats)
    {
        if (Values.TryNumber(left, out var ld) && Values.TryNumber(right, out var rd))
        {
            return floats(ld, rd);
        }

        throw new ExprError($"cannot {verb} {Values.TypeName(left)} and {Values.TypeName(right)}");
    }

    private static object Modulo(object? left, object? right)
    {
        if (Values.TryInt(left, out var li) && Values.TryInt(right, out var ri))
        {
            return ri == 0 ? throw new ExprError("integer divide by zero") : li % ri;
        }

        throw new ExprError($"cannot modulo {Values.TypeName(left)} and {Values.TypeName(right)} (% needs ints)");
    }

    private static bool In(object? item, object? collection)
    {
        if (collection is EnvNode node)
        {
            if (item is string key)
            {
                return node.ContainsKey(key);
            }

            collection = node.Collapse();
        }

        if (Values.AsMap(collection) is { } map)
        {
            return item is string key
                ? map.ContainsKey(key)
                : throw new ExprError($"cannot use {Values.TypeName(item)} as a map key in 'in'");
        }

        if (Values.AsList(collection) is { } list)
        {
            foreach (var element in list)
            {
                if (Values.DeepEqual(item, element))
                {
                    return true;
                }
            }

            return false;
        }

        throw new ExprError($"operator 'in' needs an array or map on the right, got {Values.TypeName(collection)}");
    }

    private static List<object?> Range(object? from, object? to)
    {
        if (!Values.TryInt(from, out var start) || !Values.TryInt(to, out var end))
        {
            throw new ExprError($"range needs ints, got {Values.TypeName(from)} and {Values.TypeName(to)}");
        }

        if (end > start && unchecked(end - start) is < 0 or >= MaxRange)
        {
            throw new ExprError($"range {start}..{end} is larger than {MaxRange} elements");
        }

        var result = new List<object?>((int)Math.Max(0, end - start + 1));
        for (var i = start; i <= end; i++)
        {
            result.Add(i);
        }

        return result;
    }

    private static string Text(object? value, string op) =>
        value as string ?? throw new ExprError($"operator '{op}' needs strings, got {Values.TypeName(value)}");
}
