/** A column name as SQL text: `user` is reserved in PostgreSQL (and quoted on SQLite alike). */
export const quoted = (column: string): string => (column === 'user' ? '"user"' : column)
