namespace EventGateway.Languages.Expr;

internal enum PredicateFunction
{
    Filter,
    Map,
    All,
    Any,
    None,
    One,
    Count,
    Sum,
    Find,
    FindIndex,
}

/// <summary>expr's array functions that take a predicate evaluated per element.</summary>
internal static class PredicateFunctions
{
    private static readonly Dictionary<string, PredicateFunction> ByName = Enum.GetValues<PredicateFunction>()
        .ToDictionary(Name, f => f, StringComparer.Ordinal);

    public static string Name(PredicateFunction function)
    {
        var name = function.ToString();
        return char.ToLowerInvariant(name[0]) + name[1..];
    }

    public static bool TryGet(string name, out PredicateFunction function) => ByName.TryGetValue(name, out function);

    /// <summary><c>count(list)</c> and <c>sum(list)</c> may omit the predicate; the others require it.</summary>
    public static bool PredicateOptional(PredicateFunction function) => function is PredicateFunction.Count or PredicateFunction.Sum;

    /// <param name="apply">Evaluates the predicate for one element; null when the call had no predicate.</param>
    public static object? Run(PredicateFunction function, IReadOnlyList<object?> items, Func<object?, int, object?>? apply)
    {
        var name = Name(function);
        Func<object?, int, object?> eval = apply ?? ((item, _) => item);
        bool Test(int i) => Operators.Bool(eval(items[i], i), $"predicate of {name}");

        switch (function)
        {
            case PredicateFunction.Filter:
                var kept = new List<object?>();
                for (var i = 0; i < items.Count; i++)
                {
                    if (Test(i))
                    {
                        kept.Add(items[i]);
                    }
                }

                return kept;
            case PredicateFunction.Map:
                var mapped = new List<object?>(items.Count);
                for (var i = 0; i < items.Count; i++)
                {
                    mapped.Add(eval(items[i], i));
                }

                return mapped;
            case PredicateFunction.All:
                return Enumerable.Range(0, items.Count).All(Test);
            case PredicateFunction.Any:
                return Enumerable.Range(0, items.Count).Any(Test);
            case PredicateFunction.None:
                return !Enumerable.Range(0, items.Count).Any(Test);
            case PredicateFunction.One:
                return Enumerable.Range(0, items.Count).Count(Test) == 1;
            case PredicateFunction.Count:
                return (long)Enumerable.Range(0, items.Count).Count(Test);
            case PredicateFunction.Sum:
                object? total = 0L;
                for (var i = 0; i < items.Count; i++)
                {
                    total = Operators.Apply(BinaryOp.Add, total, RequireNumber(eval(items[i], i)));
                }

                return total;
            case PredicateFunction.Find:
                var found = Enumerable.Range(0, items.Count).FirstOrDefault(Test, -1);
                return found < 0 ? null : items[found];
            default:
                return (long)Enumerable.Range(0, items.Count).FirstOrDefault(Test, -1);
        }
    }

    private static object? RequireNumber(object? value) =>
        Values.IsNumber(value) ? value : throw new ExprError($"sum: expects numbers, got {Values.TypeName(value)}");
}
