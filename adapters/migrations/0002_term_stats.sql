-- How many passages hold each lexeme, kept up to date by every write, so that search ORs only the
-- question's selective words: ranking a word found in half the corpus costs a scan of half the corpus.
CREATE TABLE term_stats (
    lexeme   text PRIMARY KEY,
    passages integer NOT NULL CHECK (passages >= 0)
);
INSERT INTO term_stats (lexeme, passages) SELECT word, ndoc FROM ts_stat('SELECT tsv FROM chunks');
