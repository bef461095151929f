namespace EventGateway.Languages.Expr;

/// <summary>A callable function: fixed or variadic arity (<see cref="MaxArgs"/> = -1) over evaluated arguments.</summary>
internal sealed record Builtin(string Name, int MinArgs, int MaxArgs, Func<object?[], object?> Invoke)
{
    public bool Accepts(int count) => count >= MinArgs && (MaxArgs < 0 || count <= MaxArgs);

    public string ArityText => MaxArgs < 0 ? $"at least {MinArgs}" : MinArgs == MaxArgs ? $"{MinArgs}" : $"{MinArgs} to {MaxArgs}";
}

/// <summary>Argument coercion helpers; failures name the function so errors are actionable.</summary>
internal static class Args
{
    public static string Str(object?[] args, int index, string function)
    {
        var value = Values.Normalize(args[index]);
        return value as string
            ?? throw new ExprError($"{function}: argument {index + 1} must be string, got {Values.TypeName(value)}");
    }

    public static long Int(object?[] args, int index, string function)
    {
        var value = args[index];
        return Values.TryInt(value, out var result)
            ? result
            : throw new ExprError($"{function}: argument {index + 1} must be int, got {Values.TypeName(value)}");
    }

    public static double Number(object?[] args, int index, string function)
    {
        var value = args[index];
        return Values.TryNumber(value, out var result)
            ? result
            : throw new ExprError($"{function}: argument {index + 1} must be a number, got {Values.TypeName(value)}");
    }

    public static IReadOnlyList<object?> List(object?[] args, int index, string function)
    {
        var value = Values.Normalize(args[index]);
        return Values.AsList(value)
            ?? throw new ExprError($"{function}: argument {index + 1} must be an array, got {Values.TypeName(value)}");
    }

    public static IReadOnlyDictionary<string, object?> Map(object?[] args, int index, string function)
    {
        var value = Values.Normalize(args[index]);
        return Values.AsMap(value)
            ?? throw new ExprError($"{function}: argument {index + 1} must be a map, got {Values.TypeName(value)}");
    }
}
