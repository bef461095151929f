namespace EventGateway.Languages.Expr;

internal enum TokenKind
{
    Eof,
    Int,
    Float,
    String,
    Identifier,

    /// <summary>Symbols and word operators (and, or, not, in, matches, contains, startsWith, endsWith).</summary>
    Operator,

    /// <summary><c>#</c> or <c>#name</c> inside predicates.</summary>
    Pointer,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Position, object? Value = null)
{
    public bool Is(TokenKind kind, string text) => Kind == kind && Text == text;

    public bool IsOperator(string text) => Is(TokenKind.Operator, text);
}
