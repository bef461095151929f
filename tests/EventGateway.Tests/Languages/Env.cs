using EventGateway.Languages.Expr;

namespace EventGateway.Tests.Languages;

/// <summary>Helpers to build Argo-style flat variable maps and evaluate against them.</summary>
internal static class Env
{
    public static IReadOnlyDictionary<string, object?> Of(params (string Key, object? Value)[] entries) =>
        entries.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);

    public static object? Eval(string expression, params (string Key, object? Value)[] entries) =>
        ArgoExpression.Evaluate(expression, Of(entries));

    public static string Render(string expression, params (string Key, object? Value)[] entries) =>
        ArgoExpression.Stringify(Eval(expression, entries));

    public static ExpressionException Fails(string expression, params (string Key, object? Value)[] entries) =>
        Shouldly.Should.Throw<ExpressionException>(() => Eval(expression, entries));
}
