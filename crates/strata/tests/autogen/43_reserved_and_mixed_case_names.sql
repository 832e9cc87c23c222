-- expect safe
-- a
CREATE TABLE "order" (id INTEGER PRIMARY KEY, "user" INTEGER);
-- b
CREATE TABLE "order" (id INTEGER PRIMARY KEY, "user" INTEGER, "Total" INTEGER CHECK ("Total" > 0), "select" VARCHAR(10));
CREATE INDEX "Order_User" ON "order" ("user", "Total");
CREATE VIEW "Big Orders" AS SELECT id, "Total" FROM "order" WHERE "Total" > 100;
-- a mysql
CREATE TABLE `order` (id INT PRIMARY KEY, `user` INT);
-- b mysql
CREATE TABLE `order` (id INT PRIMARY KEY, `user` INT, `Total` INT CHECK (`Total` > 0), `select` VARCHAR(10));
CREATE INDEX `Order_User` ON `order` (`user`, `Total`);
CREATE VIEW `Big Orders` AS SELECT id, `Total` FROM `order` WHERE `Total` > 100;
