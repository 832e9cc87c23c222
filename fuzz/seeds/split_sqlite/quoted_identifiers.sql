CREATE TABLE [a;b] ([c;d] INT, `e;f` TEXT);
SELECT $$a;b$$;
SELECT 'C:\';
