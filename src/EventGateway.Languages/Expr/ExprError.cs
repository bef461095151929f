namespace EventGateway.Languages.Expr;

/// <summary>
/// Internal failure carrying a reason and, when known, a position. Evaluation code throws this without
/// knowing the full expression text; the public entry points wrap it into <see cref="ExpressionException"/>.
/// </summary>
internal sealed class ExprError : Exception
{
    public ExprError(string reason, int position = -1, bool unresolved = false)
        : base(reason)
    {
        Reason = reason;
        Position = position;
        Unresolved = unresolved;
    }

    public string Reason { get; }

    /// <summary>-1 when the thrower did not know the position (builtins); the calling node fills it in.</summary>
    public int Position { get; }

    public bool Unresolved { get; }

    public ExprError At(int position) => Position >= 0 ? this : new ExprError(Reason, position, Unresolved);

    public ExpressionException ToPublic(string expression) =>
        new(expression, Position >= 0 ? Position : null, Reason, this) { IsUnresolved = Unresolved };

    public static ExprError UnknownName(string name, int position = -1) =>
        new($"unknown name '{name}'", position, unresolved: true);
}
