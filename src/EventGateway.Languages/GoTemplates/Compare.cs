using EventGateway.Languages.Expr;

namespace EventGateway.Languages.GoTemplates;

/// <summary>Go's eq/lt rules: only values of the same basic kind compare, so a JSON number (float64) never equals
/// an integer literal — "incompatible types for comparison", exactly the error Argo users see.</summary>
internal static class Compare
{
    private enum Kind
    {
        Invalid,
        Bool,
        Int,
        Float,
        String,
        Other,
    }

    public static bool Eq(object?[] args)
    {
        if (args.Length < 2)
        {
            throw new GoTemplateError("missing argument for comparison");
        }

        var first = args[0];
        var k1 = KindOf(first);
        foreach (var other in args.Skip(1))
        {
            var k2 = KindOf(other);
            bool truth;
            if (k1 != k2)
            {
                if (k1 != Kind.Invalid && k2 != Kind.Invalid)
                {
                    throw new GoTemplateError("incompatible types for comparison");
                }

                truth = false;
            }
            else if (k1 == Kind.Other && (first is IReadOnlyList<object?> or IReadOnlyDictionary<string, object?>))
            {
                throw new GoTemplateError($"non-comparable type {GoTemplateValues.Print(first)}: {GoTemplateValues.GoType(first)}");
            }
            else
            {
                truth = k1 == Kind.Invalid || Values.DeepEqual(first, other);
            }

            if (truth)
            {
                return true;
            }
        }

        return false;
    }

    public static int Order(object? a, object? b)
    {
        var k1 = KindOf(a);
        var k2 = KindOf(b);
        if (k1 is Kind.Bool or Kind.Other or Kind.Invalid || k2 is Kind.Bool or Kind.Other or Kind.Invalid)
        {
            throw new GoTemplateError("invalid type for comparison");
        }

        if (k1 != k2)
        {
            throw new GoTemplateError("incompatible types for comparison");
        }

        return a switch
        {
            long x => x.CompareTo((long)b!),
            double x => x.CompareTo((double)b!),
            _ => string.CompareOrdinal((string)a!, (string)b!),
        };
    }

    private static Kind KindOf(object? value) => value switch
    {
        null or Missing => Kind.Invalid,
        bool => Kind.Bool,
        long => Kind.Int,
        double => Kind.Float,
        string => Kind.String,
        _ => Kind.Other,
    };
}
