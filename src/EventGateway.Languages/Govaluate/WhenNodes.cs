using EventGateway.Languages.Expr;
using EventGateway.Languages.GoTemplates;

namespace EventGateway.Languages.Govaluate;

/// <summary>
/// govaluate semantics: every number is a float64, <c>+</c> concatenates when either side is a string,
/// ordering needs two numbers or two strings, <c>==</c> is deep equality (a number never equals a string),
/// and the logical operators need bools and short-circuit.
/// </summary>
internal abstract class WhenNode(int position)
{
    public int Position { get; } = position;

    public abstract object? Eval();

    protected ExprError Error(string reason) => new(reason, Position);

    protected static string TypeName(object? value) => value switch
    {
        null => "nil",
        double => "number",
        string => "string",
        bool => "bool",
        object?[] => "array",
        _ => value.GetType().Name,
    };
}

internal sealed class WhenLiteral(int position, object? value) : WhenNode(position)
{
    public override object? Eval() => value;
}

/// <summary>A dotted bare word: govaluate resolves it as a parameter, and Argo passes none.</summary>
internal sealed class WhenAccessor(int position, string name) : WhenNode(position)
{
    public override object? Eval() =>
        throw Error($"no parameter '{name}' found (values containing '.' must be quoted)");
}

/// <summary>A parenthesised comma list, the right-hand side of <c>in</c>.</summary>
internal sealed class WhenArray(int position, WhenNode[] items) : WhenNode(position)
{
    public override object? Eval() => items.Select(i => i.Eval()).ToArray();
}

internal sealed class WhenUnary(int position, string op, WhenNode operand) : WhenNode(position)
{
    public override object? Eval()
    {
        var value = operand.Eval();
        return op switch
        {
            "!" => value is bool b ? !b : throw Error($"'!' needs a bool, got {TypeName(value)}"),
            _ => value is double d ? -d : throw Error($"'-' needs a number, got {TypeName(value)}"),
        };
    }
}

internal sealed class WhenLogical(int position, bool isAnd, WhenNode left, WhenNode right) : WhenNode(position)
{
    public override object? Eval()
    {
        var l = Require(left.Eval());
        return l != isAnd ? l : Require(right.Eval());
    }

    private bool Require(object? value) =>
        value is bool b ? b : throw Error($"'{(isAnd ? "&&" : "||")}' needs bools, got {TypeName(value)}");
}

internal sealed class WhenTernary(int position, WhenNode condition, WhenNode whenTrue, WhenNode whenFalse) : WhenNode(position)
{
    public override object? Eval()
    {
        var test = condition.Eval();
        return test is bool b
            ? (b ? whenTrue.Eval() : whenFalse.Eval())
            : throw Error($"'?' needs a bool condition, got {TypeName(test)}");
    }
}

internal sealed class WhenCoalesce(int position, WhenNode left, WhenNode right) : WhenNode(position)
{
    public override object? Eval() => left.Eval() ?? right.Eval();
}

internal sealed class WhenBinary(int position, string op, WhenNode left, WhenNode right) : WhenNode(position)
{
    public override object? Eval()
    {
        var l = left.Eval();
        var r = right.Eval();
        return op switch
        {
            "+" => l is string || r is string ? GoFormat.PrintV(l) + GoFormat.PrintV(r) : Numeric(l, r, static (a, b) => a + b),
            "-" => Numeric(l, r, static (a, b) => a - b),
            "*" => Numeric(l, r, static (a, b) => a * b),
            "/" => Numeric(l, r, static (a, b) => a / b),
            "%" => Numeric(l, r, static (a, b) => a % b),
            "**" => Numeric(l, r, Math.Pow),
            "==" => Equal(l, r),
            "!=" => !Equal(l, r),
            ">" => Order(l, r) > 0,
            "<" => Order(l, r) < 0,
            ">=" => Order(l, r) >= 0,
            "<=" => Order(l, r) <= 0,
            "=~" => Regex(l, r),
            "!~" => !Regex(l, r),
            _ => In(l, r),
        };
    }

    private static bool Equal(object? a, object? b) => (a, b) switch
    {
        (object?[] x, object?[] y) => x.Length == y.Length && x.Zip(y).All(p => Equal(p.First, p.Second)),
        _ => Equals(a, b),
    };

    private double Numeric(object? l, object? r, Func<double, double, double> apply) =>
        l is double a && r is double b ? apply(a, b) : throw Error($"'{op}' needs numbers, got {TypeName(l)} and {TypeName(r)}");

    private int Order(object? l, object? r) => (l, r) switch
    {
        (double a, double b) => a.CompareTo(b),
        (string a, string b) => string.CompareOrdinal(a, b),
        _ => throw Error($"'{op}' needs two numbers or two strings, got {TypeName(l)} and {TypeName(r)}"),
    };

    private bool Regex(object? l, object? r)
    {
        if (l is not string candidate || r is not string pattern)
        {
            throw Error($"'{op}' needs strings, got {TypeName(l)} and {TypeName(r)}");
        }

        try
        {
            return RegexCache.IsMatch(pattern, candidate);
        }
        catch (ExprError e)
        {
            throw Error(e.Reason);
        }
    }

    // A single value on the right is treated as a one-element list (govaluate would reject it).
    private static bool In(object? l, object? r) =>
        r is object?[] items ? items.Any(item => Equal(l, item)) : Equal(l, r);
}
