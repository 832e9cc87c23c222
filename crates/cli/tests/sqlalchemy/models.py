"""A SQLAlchemy model; prints its DDL for the engine strata names (STRATA_DIALECT)."""
import os

from sqlalchemy import ForeignKey, Index, String, Text, create_mock_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

V2 = os.environ.get("MODEL_VERSION") == "2"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    if V2:
        bio: Mapped[str | None] = mapped_column(Text)


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    if V2:
        __table_args__ = (Index("posts_title", "title"),)


URLS = {"sqlite": "sqlite://", "postgres": "postgresql://", "mysql": "mysql://"}
engine = None


def dump(sql, *multiparams, **params):
    print(str(sql.compile(dialect=engine.dialect)).strip() + ";")


engine = create_mock_engine(URLS[os.environ.get("STRATA_DIALECT", "sqlite")], dump)
Base.metadata.create_all(engine, checkfirst=False)
