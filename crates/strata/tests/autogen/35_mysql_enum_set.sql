-- dialects: mysql
-- a
CREATE TABLE t (id INT PRIMARY KEY, kind ENUM('raw','qcow2') DEFAULT 'raw', flags SET('a','b'));
-- b
CREATE TABLE t (id INT PRIMARY KEY, kind ENUM('raw','qcow2','Vmdk') NOT NULL DEFAULT 'qcow2', flags SET('a','b','c'), state ENUM('on','off'));
